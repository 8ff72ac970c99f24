/* Many consecutive Philox4x32-10 draws at once, for the CPU sampler: the
 * same words as ml_draw (philox.h) for indices index .. index+n-1, on 8
 * lanes of AVX2, or on 16 of AVX-512 where the CPU has it (chosen when
 * called; the build targets x86-64-v3, so the AVX-512 code is compiled
 * for that one function). Integer arithmetic: every path gives the same
 * words, and tests/test_philox.c checks each against ml_draw.
 *
 * Measured per draw (bench/RESULTS.md, "issue 28"): the scalar ml_draw
 * 6.5 ns; the compiler's vectorisation of ml_draw over a loop 5.3 ns (it
 * spends its time moving the 32-bit halves of the 64-bit products between
 * lanes); two even/odd multiplies and two blends 2.4-2.9 ns, 2.1 ns with two
 * vectors run side by side round by round (the core overlaps their
 * multiplies); the same on 16 lanes 0.9 ns. CPU only: the CUDA kernels
 * call ml_draw per thread. */
#ifndef MONOLAB_PHILOX_X8_H
#define MONOLAB_PHILOX_X8_H
#include "monolab/philox.h"
#include <stddef.h>
#if defined(__AVX2__) && defined(__GNUC__)
#define ML_PHILOX_SIMD 1
#include <immintrin.h>

/* The high words of a * M on 8 lanes; *lo gets the low words. */
static inline __m256i ml_mulhilo8(__m256i a, __m256i M, __m256i *lo) {
    __m256i even = _mm256_mul_epu32(a, M), odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), M);
    *lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
    return _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}
#endif

/* The draws of indices index .. index+n-1 one at a time: w[j * stride + l]
 * is word j of index + l. Every vector path falls back to it where the
 * low words of its indices would carry into the high word. */
static inline void ml_draw_words_scalar(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index, int n,
                                        uint32_t *w, size_t stride) {
    for (int l = 0; l < n; l++) {
        ml_u32x4 d = ml_draw(seed, stream, step, index + (uint64_t)l);
        for (int j = 0; j < 4; j++) w[(size_t)j * stride + (size_t)l] = d.v[j];
    }
}

/* Whether indices index .. index+n-1 share their high word. */
static inline int ml_draw_no_carry(uint64_t index, int n) {
    return (uint32_t)index <= 0xFFFFFFFFu - (uint32_t)(n - 1);
}

/* As ml_draw_words_scalar, 16 at a time on two vectors of 8 lanes, the
 * rest one at a time. */
static inline void ml_draw_words_avx2(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index, int n,
                                      uint32_t *w, size_t stride) {
    int l = 0;
#ifdef ML_PHILOX_SIMD
    const __m256i M0 = _mm256_set1_epi32((int)0xD2511F53u), M1 = _mm256_set1_epi32((int)0xCD9E8D57u);
    for (; l + 16 <= n && ml_draw_no_carry(index + (uint64_t)l, 16); l += 16) {
        const uint64_t at = index + (uint64_t)l;
        __m256i c[2][4];
        for (int v = 0; v < 2; v++) {
            c[v][0] = _mm256_add_epi32(_mm256_set1_epi32((int)((uint32_t)at + 8u * (uint32_t)v)),
                                       _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            c[v][1] = _mm256_set1_epi32((int)(uint32_t)(at >> 32));
            c[v][2] = _mm256_set1_epi32((int)step);
            c[v][3] = _mm256_set1_epi32((int)stream);
        }
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int r = 0; r < 10; r++) { /* ml_philox4x32_10's round */
            const __m256i K0 = _mm256_set1_epi32((int)k0), K1 = _mm256_set1_epi32((int)k1);
            for (int v = 0; v < 2; v++) {
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
        for (int v = 0; v < 2; v++)
            for (int j = 0; j < 4; j++)
                _mm256_storeu_si256((__m256i *)(w + (size_t)j * stride + (size_t)l + 8u * (unsigned)v), c[v][j]);
    }
#endif
    ml_draw_words_scalar(seed, stream, step, index + (uint64_t)l, n - l, w + l, stride);
}

#ifdef ML_PHILOX_SIMD
/* The same on two vectors of 16 lanes, 32 at a time; the rest as
 * ml_draw_words_avx2. Only to be called where the CPU has AVX-512F. */
__attribute__((target("avx512f"), noinline, unused)) static void
ml_draw_words_avx512(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index, int n, uint32_t *w,
                     size_t stride) {
    const __m512i M0 = _mm512_set1_epi32((int)0xD2511F53u), M1 = _mm512_set1_epi32((int)0xCD9E8D57u);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    int l = 0;
    for (; l + 32 <= n && ml_draw_no_carry(index + (uint64_t)l, 32); l += 32) {
        const uint64_t at = index + (uint64_t)l;
        __m512i c[2][4];
        for (int v = 0; v < 2; v++) {
            c[v][0] = _mm512_add_epi32(_mm512_set1_epi32((int)((uint32_t)at + 16u * (uint32_t)v)), lane);
            c[v][1] = _mm512_set1_epi32((int)(uint32_t)(at >> 32));
            c[v][2] = _mm512_set1_epi32((int)step);
            c[v][3] = _mm512_set1_epi32((int)stream);
        }
        uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
        for (int r = 0; r < 10; r++) { /* ml_philox4x32_10's round */
            const __m512i K0 = _mm512_set1_epi32((int)k0), K1 = _mm512_set1_epi32((int)k1);
            for (int v = 0; v < 2; v++) {
                __m512i e0 = _mm512_mul_epu32(c[v][0], M0), o0 = _mm512_mul_epu32(_mm512_srli_epi64(c[v][0], 32), M0);
                __m512i e1 = _mm512_mul_epu32(c[v][2], M1), o1 = _mm512_mul_epu32(_mm512_srli_epi64(c[v][2], 32), M1);
                __m512i hi0 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(e0, 32), o0);
                __m512i hi1 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(e1, 32), o1);
                c[v][0] = _mm512_xor_si512(_mm512_xor_si512(hi1, c[v][1]), K0);
                c[v][2] = _mm512_xor_si512(_mm512_xor_si512(hi0, c[v][3]), K1);
                c[v][1] = _mm512_mask_blend_epi32(0xAAAA, e1, _mm512_slli_epi64(o1, 32));
                c[v][3] = _mm512_mask_blend_epi32(0xAAAA, e0, _mm512_slli_epi64(o0, 32));
            }
            k0 += 0x9E3779B9u;
            k1 += 0xBB67AE85u;
        }
        for (int v = 0; v < 2; v++)
            for (int j = 0; j < 4; j++)
                _mm512_storeu_si512((void *)(w + (size_t)j * stride + (size_t)l + 16u * (unsigned)v), c[v][j]);
    }
    ml_draw_words_avx2(seed, stream, step, index + (uint64_t)l, n - l, w + l, stride);
}
#endif

/* Whether this CPU runs ml_draw_words_avx512. */
static inline int ml_draw_has_avx512(void) {
#ifdef ML_PHILOX_SIMD
    return __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

/* w[j * stride + l] = ml_draw(seed, stream, step, index + l).v[j] for
 * l < n (stride >= n: the caller's rows of words, one per word j), by the
 * fastest path this CPU has. */
static inline void ml_draw_words(uint64_t seed, uint32_t stream, uint32_t step, uint64_t index, int n, uint32_t *w,
                                 size_t stride) {
#ifdef ML_PHILOX_SIMD
    if (ml_draw_has_avx512()) {
        ml_draw_words_avx512(seed, stream, step, index, n, w, stride);
        return;
    }
#endif
    ml_draw_words_avx2(seed, stream, step, index, n, w, stride);
}

#endif
