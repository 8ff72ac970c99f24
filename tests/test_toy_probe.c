/* The probe inputs of `monolab embed --probe` on toy checkpoints
 * (src/toy_probe.c): single and pair put exactly one or two distinct active
 * features in every input, chosen uniformly (each feature's count within 5
 * sigma of B * n_active / N), with values in [0,1) (signed for abs), and
 * x = P v; training reproduces the training distribution's sampler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include "monolab/common.h"
#include "monolab/toy_probe.h"
#include "test_helpers.h"

enum { NF = 12, M = 5, B = 24000 };

static ml_checkpoint hand_checkpoint(ml_task task) {
    ml_checkpoint c;
    memset(&c, 0, sizeof c);
    c.run = test_run(task, ACT_RELU, NF, M, 4, 32);
    c.P = ml_malloc(sizeof(float) * M * NF);
    for (int i = 0; i < M * NF; i++) c.P[i] = (float)sin(1.0 + i); /* any fixed matrix */
    return c;
}

static void check_probe(ml_task task, ml_probe kind, int n_active) {
    ml_checkpoint c = hand_checkpoint(task);
    float *V = ml_malloc(sizeof(float) * B * NF), *X = ml_malloc(sizeof(float) * B * M);
    ml_probe_inputs(&c, 7, kind, B, V, X);
    long count[NF] = {0};
    int negative = 0;
    for (int b = 0; b < B; b++) {
        int nz = 0;
        for (int i = 0; i < NF; i++) {
            float v = V[(size_t)b * NF + i];
            if (v == 0) continue;
            nz++;
            count[i]++;
            negative += v < 0;
            assert_true(fabsf(v) < 1.0f);
        }
        /* a U[0,1) draw is 0 with probability 2^-24: allow it, never more */
        assert_true(nz <= n_active && nz >= n_active - 1);
        for (int r = 0; r < M; r++) {
            double acc = 0;
            for (int i = 0; i < NF; i++) acc += (double)c.P[r * NF + i] * V[(size_t)b * NF + i];
            assert_true(fabs(acc - X[(size_t)b * M + r]) < 1e-5);
        }
    }
    double p = (double)n_active / NF, mu = B * p, sd = sqrt(B * p * (1 - p));
    for (int i = 0; i < NF; i++) assert_true(fabs(count[i] - mu) < 5 * sd);
    if (task == TASK_ABS) assert_true(fabs(negative - B * n_active / 2.0) < 5 * sqrt(B * n_active / 4.0));
    else assert_int_equal(negative, 0);
    free(V);
    free(X);
    ml_checkpoint_free(&c);
}

static void test_single(void **s) { (void)s; check_probe(TASK_DECODER, PROBE_SINGLE, 1); }
static void test_pair(void **s) { (void)s; check_probe(TASK_DECODER, PROBE_PAIR, 2); }
static void test_abs_signs(void **s) { (void)s; check_probe(TASK_ABS, PROBE_PAIR, 2); }

/* PROBE_TRAINING is the training sampler on the probe stream: about eps * N
 * active features per input, as ml_checkpoint_inputs draws them. */
static void test_training(void **s) {
    (void)s;
    ml_checkpoint c = hand_checkpoint(TASK_DECODER);
    float *V = ml_malloc(sizeof(float) * B * NF), *X = ml_malloc(sizeof(float) * B * M);
    float *V2 = ml_malloc(sizeof(float) * B * NF), *X2 = ml_malloc(sizeof(float) * B * M);
    ml_probe_inputs(&c, 7, PROBE_TRAINING, B, V, X);
    ml_checkpoint_inputs(&c, 7, B, V2, X2);
    assert_memory_equal(V, V2, sizeof(float) * B * NF);
    long nz = 0;
    for (long t = 0; t < (long)B * NF; t++) nz += V[t] != 0;
    double n = (double)B * NF, p = c.run.eps;
    assert_true(fabs(nz - n * p) < 5 * sqrt(n * p * (1 - p)));
    free(V); free(X); free(V2); free(X2);
    ml_checkpoint_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single),
        cmocka_unit_test(test_pair),
        cmocka_unit_test(test_abs_signs),
        cmocka_unit_test(test_training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
