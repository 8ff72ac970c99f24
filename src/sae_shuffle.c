#include "monolab/sae_shuffle.h"
#include "monolab/philox.h"

void ml_permutation(uint64_t seed, uint32_t stream, uint32_t step, int n, int *perm) {
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        ml_u32x4 w = ml_draw(seed, stream, step, (uint64_t)i);
        /* 64 random bits: the modulo bias is below 2^-32 for any n here */
        uint64_t r = (uint64_t)w.v[0] << 32 | w.v[1];
        int j = (int)(r % (uint64_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}
