/* Philox4x32-10 (Salmon et al., SC'11), the generator behind cuRAND's
 * curandStatePhilox4_32_10_t. A draw is a pure function of (key, counter),
 * so any thread on any backend can produce any number of the stream.
 *
 * monolab's stream definition (shared by the CPU and CUDA backends):
 *   key     = {seed & 0xffffffff, seed >> 32}
 *   counter = {lo(index), hi(index), step, stream}
 * With cuRAND this is curand_init(seed, subsequence = step | stream << 32,
 * offset = 4 * index) followed by curand4(): cuRAND keeps the 64-bit
 * subsequence in counter words z,w and offset/4 in words x,y. */
#ifndef MONOLAB_PHILOX_H
#define MONOLAB_PHILOX_H
#include <stdint.h>

/* Host and device: the CUDA kernels include this header too. */
#ifdef __CUDACC__
#define ML_HD __host__ __device__ __forceinline__
#else
#define ML_HD static inline
#endif

typedef struct { uint32_t v[4]; } ml_u32x4;

ML_HD ml_u32x4 ml_philox4x32_10(ml_u32x4 c, uint32_t k0, uint32_t k1) {
    const uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    const uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)M0 * c.v[0];
        uint64_t p1 = (uint64_t)M1 * c.v[2];
        uint32_t hi0 = (uint32_t)(p0 >> 32), lo0 = (uint32_t)p0;
        uint32_t hi1 = (uint32_t)(p1 >> 32), lo1 = (uint32_t)p1;
        ml_u32x4 n = {{hi1 ^ c.v[1] ^ k0, lo1, hi0 ^ c.v[3] ^ k1, lo0}};
        c = n;
        k0 += W0; k1 += W1;
    }
    return c;
}

/* The four words for (seed, stream, step, index). */
ML_HD ml_u32x4 ml_draw(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index) {
    ml_u32x4 c = {{(uint32_t)index, (uint32_t)(index >> 32), step, stream}};
    return ml_philox4x32_10(c, (uint32_t)seed, (uint32_t)(seed >> 32));
}

/* U[0,1) with 24 bits: exact in float, never 1.0 (curand_uniform can
 * return 1.0f, which U[0,1) forbids, so both backends use this;
 * docs/science.md §1.1). */
ML_HD float ml_u01(uint32_t w) { return (float)(w >> 8) * (1.0f / 16777216.0f); }

/* Stream ids: one per independent use of randomness. */
enum {
    ML_STREAM_TRAIN = 0,   /* training batches, step = optimiser step */
    ML_STREAM_EVAL = 1,    /* held-out batch, step = chunk index */
    ML_STREAM_INIT = 2,    /* W1, b1, W2 initialisation */
    ML_STREAM_EMBED_P = 3, /* input embedder P */
    ML_STREAM_EMBED_Q = 4, /* reprojector target embedder Q */
    ML_STREAM_PROBE = 5,   /* inputs sampled for `monolab embed` on toy models */
    ML_STREAM_MLP_INIT = 6, /* `monolab sae`: the base MLP's initial weights */
    ML_STREAM_SHUFFLE = 7,  /* `monolab sae`: example order, step = epoch (MLP) or 1<<16 | epoch (SAE) */
    ML_STREAM_SAE_INIT = 8  /* `monolab sae`: an SAE's initial decoder */
};

#endif
