/* Philox4x32-10 against the Random123 known-answer vectors (the same
 * generator cuRAND implements), and the stream/uniform conventions. The
 * bit-for-bit comparison with cuRAND's device API itself is a GPU test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "monolab/philox.h"
#include "monolab/philox_x8.h"

static void check(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, uint32_t e0,
                  uint32_t e1, uint32_t e2, uint32_t e3) {
    ml_u32x4 c = {{c0, c1, c2, c3}};
    ml_u32x4 r = ml_philox4x32_10(c, k0, k1);
    assert_int_equal(r.v[0], e0);
    assert_int_equal(r.v[1], e1);
    assert_int_equal(r.v[2], e2);
    assert_int_equal(r.v[3], e3);
}

static void test_known_answers(void **state) {
    (void)state;
    check(0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8);
    check(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e,
          0xa20bc7c6, 0x6d5451fd);
    check(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb,
          0x5001e420, 0x24126ea1);
}

static void test_stream_layout(void **state) {
    (void)state;
    /* counter = {lo(index), hi(index), step, stream}, key = seed halves */
    uint64_t seed = 0x0123456789abcdefULL, index = 0x0000000500000007ULL;
    ml_u32x4 a = ml_draw(seed, 3, 9, index);
    ml_u32x4 c = {{7, 5, 9, 3}};
    ml_u32x4 b = ml_philox4x32_10(c, 0x89abcdef, 0x01234567);
    for (int i = 0; i < 4; i++) assert_int_equal(a.v[i], b.v[i]);
}

static void test_u01_range(void **state) {
    (void)state;
    assert_true(ml_u01(0) == 0.0f);
    assert_true(ml_u01(0xffffffffu) < 1.0f);
    assert_true(ml_u01(0x80000000u) == 0.5f);
}

/* The CPU sampler's many-lane draws are ml_draw's words, on every path
 * this CPU runs (AVX-512 where it has it), for every lane, including runs
 * of indices that carry into the high word and lengths that leave a rest. */
typedef void draw_words_fn(uint64_t, uint32_t, uint32_t, uint64_t, int, uint32_t *, size_t);
static void check_draw_words(draw_words_fn *fn) {
    const uint64_t seeds[3] = {0, 7, 0xfedcba9876543210ULL};
    const uint64_t starts[6] = {0, 8 * 64 + 5, 0x00000003ffffffe0ULL, 0x00000003fffffff8ULL, 0x00000003fffffffbULL,
                                0xffffffffULL};
    const int lengths[5] = {1, 8, 16, 45, 64};
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < 6; i++)
            for (int n = 0; n < 5; n++) {
                const uint32_t step = (uint32_t)(s * 1000003 + n), stream = (uint32_t)i;
                uint32_t w[4][64];
                fn(seeds[s], stream, step, starts[i], lengths[n], &w[0][0], 64);
                for (int l = 0; l < lengths[n]; l++) {
                    ml_u32x4 d = ml_draw(seeds[s], stream, step, starts[i] + (uint64_t)l);
                    for (int j = 0; j < 4; j++) assert_int_equal(w[j][l], d.v[j]);
                }
            }
}

static void test_draw_words_is_ml_draw(void **state) {
    (void)state;
    check_draw_words(ml_draw_words_avx2);
    check_draw_words(ml_draw_words);
#ifdef ML_PHILOX_SIMD
    if (ml_draw_has_avx512()) check_draw_words(ml_draw_words_avx512);
    else print_message("no AVX-512 on this CPU: its draw path is not checked here\n");
#endif
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_stream_layout),
        cmocka_unit_test(test_u01_range),
        cmocka_unit_test(test_draw_words_is_ml_draw),
    };
    return cmocka_run_group_tests_name("philox", tests, NULL, NULL);
}
