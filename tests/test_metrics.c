/* The docs/science.md §1.9 metric on a hand-built model with known monosemantic,
 * polysemantic and dead neurons, both directly on S and through the CPU
 * backend's sfa() with a hand-set W1 and b1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>
#include "monolab/backend.h"
#include "monolab/metrics.h"
#include "test_helpers.h"

static void test_hand_built_S(void **state) {
    (void)state;
    /* 5 neurons x 4 features */
    const float S[5 * 4] = {
        1.0f, 0, 0, 0,           /* mono on feature 0 */
        0, 0.5f, 0.0004f, 0,     /* r = 0.5/0.5004 = 0.9992 > 0.999: mono */
        0, 0.5f, 0.0006f, 0,     /* r = 0.9988: poly */
        0.3f, 0.3f, 0, 0.1f,     /* poly */
        0, -1.0f, 0, 0,          /* dead */
    };
    const float b1[5] = {-0.5f, -0.3f, 0.2f, 0.4f, -2.0f};
    ml_mono_stats st;
    ml_mono_metric(S, b1, 5, 4, &st);
    assert_int_equal(st.mono_neurons, 2);
    assert_int_equal(st.dead_neurons, 1);
    assert_true(fabs(st.mono_per_feature - 2.0 / 4) < 1e-12);
    assert_true(fabs(st.mono_per_neuron - 2.0 / 5) < 1e-12);
    assert_true(fabs(st.bias_mono_mean - (-0.4)) < 1e-6);
    assert_true(fabs(st.bias_poly_mean - 0.3) < 1e-6);
}

/* GeLU/SoLU responses can be negative. r_j = max/(1e-10 + sum) is then
 * still computed as the authors do: with one feature a neuron whose only
 * response is negative has r_j ~ 1, and is counted as monosemantic and as
 * dead (with N >= 2 an all-negative row has r_j <= 1/N). */
static void test_mono_and_dead(void **state) {
    (void)state;
    const float S[3] = {-0.5f, 0.3f, -0.2f}; /* k = 3 neurons, N = 1 feature */
    const float b1[3] = {-3.0f, 0.25f, -1.0f};
    ml_mono_stats st;
    ml_mono_metric(S, b1, 3, 1, &st);
    assert_int_equal(st.mono_neurons, 3);
    assert_int_equal(st.dead_neurons, 2);
    assert_true(fabs(st.bias_mono_mean - (-3.75 / 3)) < 1e-6);
    assert_true(isnan(st.bias_poly_mean));
    const float S2[2] = {-0.001f, -0.003f}; /* N = 2: r = 0.25, dead only */
    ml_mono_metric(S2, b1, 1, 2, &st);
    assert_int_equal(st.mono_neurons, 0);
    assert_int_equal(st.dead_neurons, 1);
}

static void test_sfa_through_backend(void **state) {
    (void)state;
    /* N = m = 3 so P is a signed permutation-like orthonormal basis; set
     * W1 = Pᵀ rows so neuron j sees exactly feature j, plus one neuron that
     * sees all and one that is dead. */
    ml_run r = test_run(TASK_DECODER, ACT_RELU, 3, 3, 5, 4);
    const ml_run *rp = &r;
    ml_group *g = ml_group_create(&rp, 1);
    float *W1 = g->init_params + g->off_W1, *b1 = g->init_params + g->off_b1;
    for (int j = 0; j < 3; j++)
        for (int c = 0; c < 3; c++) W1[j * 3 + c] = g->Pt[j * 3 + c]; /* <P_i, P_j> = delta_ij */
    for (int c = 0; c < 3; c++) {
        W1[3 * 3 + c] = g->Pt[0 * 3 + c] + g->Pt[1 * 3 + c] + g->Pt[2 * 3 + c];
        W1[4 * 3 + c] = 0;
    }
    const float bias[5] = {0, 0, 0, 0.1f, -1.0f};
    memcpy(b1, bias, sizeof bias);
    void *st = ml_backend_cpu.create(g);
    float S[5 * 3];
    ml_backend_cpu.sfa(st, g, S);
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 3; i++) assert_true(fabsf(S[j * 3 + i] - (i == j ? 1.0f : 0.0f)) < 1e-5f);
    ml_mono_stats ms;
    ml_mono_metric(S, b1, 5, 3, &ms);
    assert_int_equal(ms.mono_neurons, 3);
    assert_int_equal(ms.dead_neurons, 1);
    assert_true(fabs(ms.bias_poly_mean - 0.1) < 1e-6);
    ml_backend_cpu.destroy(st);
    ml_group_free(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_built_S),
        cmocka_unit_test(test_mono_and_dead),
        cmocka_unit_test(test_sfa_through_backend),
    };
    return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
