/* Launch shapes of the CUDA training kernels that depend on the model's
 * size, as plain C so that host tests check them without a GPU. A launch
 * must never ask for more dynamic shared memory than the 48 KiB every
 * device grants without an opt-in, whatever N is (the config allows N up
 * to 2^20): the sample kernels therefore stage features in fixed tiles. */
#ifndef MONOLAB_CUDA_LAUNCH_H
#define MONOLAB_CUDA_LAUNCH_H
#include <stddef.h>

#define ML_SAMPLE_THREADS 128
#define ML_SAMPLE_TILE 2048   /* ref: features drawn into shared memory per pass */
#define ML_GATHER_CAP 1024    /* fast: active (index, value) pairs staged per flush */
#define ML_SMEM_NO_OPTIN 49152
/* tiny models: one warp per sample row, a static shared tile per warp */
#define ML_TINY_ROWS 4
#define ML_TINY_MAX_N 256
/* sample variants (the `fast` argument of ml_k_sample) */
#define ML_SAMPLE_REF 0
#define ML_SAMPLE_GATHER 1
#define ML_SAMPLE_TINY 2

/* Dynamic shared memory of one sample-kernel block for N features. */
static inline size_t ml_sample_smem_bytes(int N, int fast) {
    if (fast == ML_SAMPLE_TINY) return sizeof(float) * ML_TINY_ROWS * ML_TINY_MAX_N; /* static */
    if (fast) return (size_t)ML_GATHER_CAP * (sizeof(int) + sizeof(float)) + (ML_SAMPLE_THREADS / 32 + 1) * sizeof(int);
    return sizeof(float) * (size_t)(N < ML_SAMPLE_TILE ? N : ML_SAMPLE_TILE);
}

#endif
