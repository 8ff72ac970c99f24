/* Eight or sixteen consecutive Philox4x32-10 draws at once, for the CPU sampler: the
 * same words as ml_draw (philox.h) for consecutive indices, computed on
 * 8 lanes of AVX2. The compiler's own vectorisation of ml_draw over a
 * loop spends most of its time moving 32-bit halves of the 64-bit
 * products between lanes (5.3 ns a draw against 6.5 scalar); building the
 * high and low words with two even/odd multiplies and two blends takes
 * 2.4 ns (bench/RESULTS.md, "issue 28"). CPU only: the CUDA kernels call
 * ml_draw per thread. tests/test_philox.c checks it against ml_draw. */
#ifndef MONOLAB_PHILOX_X8_H
#define MONOLAB_PHILOX_X8_H
#include "monolab/philox.h"
#include <stddef.h>
#ifdef __AVX2__
#include <immintrin.h>

/* The high words of a * M on 8 lanes; *lo gets the low words. */
static inline __m256i ml_mulhilo8(__m256i a, __m256i M, __m256i *lo) {
    __m256i even = _mm256_mul_epu32(a, M), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), M);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    return _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}
#endif

/* w[j * stride + l] = ml_draw(seed, stream, step, index + l).v[j] for
 * l < 8 * nv, nv = 1 or 2 (stride >= 8 * nv: the caller's rows of words,
 * one per word j). Two vectors of 8 are run round by round side by side,
 * which lets the core overlap their multiplies: 2.1 ns a draw against 2.9
 * for one vector at a time. */
static inline __attribute__((always_inline)) void ml_draw8n(uint64_t seed, uint32_t stream, uint32_t step,
                                                            uint64_t index, int nv, uint32_t *w, size_t stride) {
#ifdef __AVX2__
    if ((uint32_t)index <= 0xFFFFFFFFu - (uint32_t)(8 * nv - 1)) { /* the indices share their high word */
        const __m256i M0 = _mm256_set1_epi32((int)0xD2511F53u), M1 = _mm256_set1_epi32((int)0xCD9E8D57u);
        __m256i c[2][4];
        for (int v = 0; v < nv; v++) {
            c[v][0] = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)index + 8 * v),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            c[v][1] = _mm256_set1_epi32((int)(uint32_t)(index >> 32));
            c[v][2] = _mm256_set1_epi32((int)step);
            c[v][3] = _mm256_set1_epi32((int)stream);
        }
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int r = 0; r < 10; r++) { /* ml_philox4x32_10's round */
            const __m256i K0 = _mm256_set1_epi32((int)k0), K1 = _mm256_set1_epi32((int)k1);
            for (int v = 0; v < nv; v++) {
                __m256i lo0, lo1;
                __m256i hi0 = ml_mulhilo8(c[v][0], M0, &lo0), hi1 = ml_mulhilo8(c[v][2], M1, &lo1);
                c[v][0] = _mm256_xor_si256(_mm256_xor_si256(hi1, c[v][1]), K0);
                c[v][2] = _mm256_xor_si256(_mm256_xor_si256(hi0, c[v][3]), K1);
                c[v][1] = lo1;
                c[v][3] = lo0;
            }
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        for (int v = 0; v < nv; v++)
            for (int j = 0; j < 4; j++) _mm256_storeu_si256((__m256i *)(w + (size_t)j * stride + 8 * v), c[v][j]);
        return;
    }
#endif
    for (int l = 0; l < 8 * nv; l++) {
        ml_u32x4 d = ml_draw(seed, stream, step, index + (uint64_t)l);
        for (int j = 0; j < 4; j++) w[(size_t)j * stride + (size_t)l] = d.v[j];
    }
}


#endif
