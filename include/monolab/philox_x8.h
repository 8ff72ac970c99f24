/* Eight consecutive Philox4x32-10 draws at once, for the CPU sampler: the
 * same words as ml_draw (philox.h) for indices index .. index+7, computed
 * on 8 lanes of AVX2. The compiler's own vectorisation of ml_draw over a
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

/* w[j * stride + l] = ml_draw(seed, stream, step, index + l).v[j] for l < 8
 * (stride >= 8: the caller's rows of words, one per word j). */
static inline void ml_draw8(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index, uint32_t *w, size_t stride) {
#ifdef __AVX2__
    if ((uint32_t)index <= 0xFFFFFFF8u) { /* the 8 indices share their high word */
        const __m256i M0 = _mm256_set1_epi32((int)0xD2511F53u), M1 = _mm256_set1_epi32((int)0xCD9E8D57u);
        __m256i c0 = _mm256_add_epi32(_mm256_set1_epi32((int)(uint32_t)index), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        __m256i c1 = _mm256_set1_epi32((int)(uint32_t)(index >> 32));
        __m256i c2 = _mm256_set1_epi32((int)step), c3 = _mm256_set1_epi32((int)stream);
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int r = 0; r < 10; r++) { /* ml_philox4x32_10's round */
            __m256i lo0, lo1;
            __m256i hi0 = ml_mulhilo8(c0, M0, &lo0), hi1 = ml_mulhilo8(c2, M1, &lo1);
            c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)k0));
            c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)k1));
            c1 = lo1;
            c3 = lo0;
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        _mm256_storeu_si256((__m256i *)w, c0);
        _mm256_storeu_si256((__m256i *)(w + stride), c1);
        _mm256_storeu_si256((__m256i *)(w + 2 * stride), c2);
        _mm256_storeu_si256((__m256i *)(w + 3 * stride), c3);
        return;
    }
#endif
    for (int l = 0; l < 8; l++) {
        ml_u32x4 d = ml_draw(seed, stream, step, index + (uint64_t)l);
        for (int j = 0; j < 4; j++) w[(size_t)j * stride + (size_t)l] = d.v[j];
    }
}

#endif
