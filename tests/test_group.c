/* Group invariance and divergence isolation (docs/architecture.md "Determinism").
 * A model trained alone is bit-identical to the same model inside a group
 * of 17, whatever the thread count; a diverging model in a group is frozen
 * and marked, and its neighbours' results do not change by a single bit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "monolab/train.h"
#include "test_helpers.h"

static ml_run runs[17];

static void train(const ml_run *const *rp, int G, ml_train_result *res) {
    ml_group *g = ml_group_create(rp, G);
    ml_train_group(&ml_backend_cpu, g, res, NULL, NULL, NULL);
    ml_group_free(g);
}

/* Compare model a of result A with model b of result B, bit for bit. */
static void assert_same_model(const ml_train_result *A, int a, int GA, const ml_train_result *B, int b, int GB,
                              size_t np) {
    assert_memory_equal(A->params + a * np, B->params + b * np, np * sizeof(float));
    assert_memory_equal(&A->eval_loss[a], &B->eval_loss[b], sizeof(double));
    assert_memory_equal(&A->final_loss[a], &B->final_loss[b], sizeof(double));
    assert_int_equal(A->mono[a].mono_neurons, B->mono[b].mono_neurons);
    assert_int_equal(A->n_log, B->n_log);
    for (int r = 0; r < A->n_log; r++)
        assert_memory_equal(&A->log_loss[r * GA + a], &B->log_loss[r * GB + b], sizeof(float));
}

static void make_runs_shaped(ml_task task, int N, int m, int k, int B, int steps) {
    for (int i = 0; i < 17; i++) {
        runs[i] = test_run(task, ACT_RELU, N, m, k, B);
        runs[i].steps = steps;
        runs[i].seed = 100 + i;
        runs[i].lr = 0.002 * (1 + i % 5);
        runs[i].bias_offset = -0.1 * (i % 4);
        runs[i].decay = 0.01 * (i % 3);
        runs[i].eps = 0.1 + 0.01 * i;
        runs[i].l1 = i % 2 ? 0.001 : 0;
        snprintf(runs[i].id, sizeof runs[i].id, "r%06d", i);
    }
}

static void make_runs(ml_task task) {
    make_runs_shaped(task, 48, 12, 100, 72, 64); /* odd sizes: partial BLAS tiles */
}

/* Model 7 inside the group of 17, alone on all threads and alone on one.
 * The runs must have been made (make_runs, make_runs_shaped). */
static void check_invariance_of_runs(void) {
    const ml_run *rp[17];
    for (int i = 0; i < 17; i++) rp[i] = &runs[i];
    ml_train_result group, alone1, alone2;
    train(rp, 17, &group);
    int saved = omp_get_max_threads();
    train(&rp[7], 1, &alone1); /* alone on all threads */
    omp_set_num_threads(1);
    train(&rp[7], 1, &alone2); /* alone on one thread */
    omp_set_num_threads(saved);
    const size_t k = (size_t)runs[0].k;
    size_t np = k * runs[0].m + k + (size_t)ml_run_out_dim(&runs[0]) * k;
    assert_same_model(&group, 7, 17, &alone1, 0, 1, np);
    assert_same_model(&group, 7, 17, &alone2, 0, 1, np);
    assert_int_equal(group.diverged[7], -1);
    ml_train_result_free(&group);
    ml_train_result_free(&alone1);
    ml_train_result_free(&alone2);
}

static void check_invariance(ml_task task) {
    make_runs(task);
    check_invariance_of_runs();
}

static void test_invariance_decoder(void **s) { (void)s; check_invariance(TASK_DECODER); }
static void test_invariance_reprojector(void **s) { (void)s; check_invariance(TASK_REPROJECTOR); }
static void test_invariance_abs(void **s) { (void)s; check_invariance(TASK_ABS); }
/* Big enough that the CPU backend cuts each model into several row blocks
 * (backend_cpu.c, blocks_per_model), with the real BLAS; tests/test_row_split.c
 * checks the same with a BLAS that rounds by the shape of every call. */
static void test_invariance_cut_model(void **s) {
    (void)s;
    make_runs_shaped(TASK_DECODER, 128, 32, 256, 256, 12);
    check_invariance_of_runs();
}

static void test_divergence_isolated(void **s) {
    (void)s;
    make_runs(TASK_DECODER);
    runs[1].lr = 1e38;  /* overflows to inf within a step or two */
    runs[1].decay = 0;
    const ml_run *rp[3] = {&runs[0], &runs[1], &runs[2]};
    ml_train_result group, a0, a2;
    train(rp, 3, &group);
    train(&rp[0], 1, &a0);
    train(&rp[2], 1, &a2);
    assert_true(group.diverged[1] >= 0 && group.diverged[1] < 8);
    assert_true(isnan(group.eval_loss[1]) && isnan(group.final_loss[1]));
    assert_int_equal(group.diverged[0], -1);
    assert_int_equal(group.diverged[2], -1);
    size_t np = (size_t)100 * 12 + 100 + 48 * 100;
    assert_same_model(&group, 0, 3, &a0, 0, 1, np);
    assert_same_model(&group, 2, 3, &a2, 0, 1, np);
    ml_train_result_free(&group);
    ml_train_result_free(&a0);
    ml_train_result_free(&a2);
}

/* At scale: one model that overflows, in a group of 64, for every task. The
 * other 63 must be bit-identical to the same 63 trained as a group without
 * it (a different G, so also a different split of work across threads). */
#define SCALE_G 64
#define BAD 37
static void check_divergence_at_scale(ml_task task) {
    static ml_run big[SCALE_G];
    for (int i = 0; i < SCALE_G; i++) {
        big[i] = test_run(task, ACT_RELU, 24, 6, 40, 32);
        big[i].seed = 1000 + i;
        big[i].lr = 0.002 * (1 + i % 7);
        big[i].bias_offset = -0.1 * (i % 4);
        big[i].eps = 0.05 + 0.01 * (i % 20);
        big[i].l1 = i % 3 ? 0.001 : 0;
        snprintf(big[i].id, sizeof big[i].id, "r%06d", i);
    }
    big[BAD].lr = 1e38; /* overflows to inf within a step or two */
    big[BAD].decay = 0;
    const ml_run *with[SCALE_G], *without[SCALE_G - 1];
    for (int i = 0, j = 0; i < SCALE_G; i++) {
        with[i] = &big[i];
        if (i != BAD) without[j++] = &big[i];
    }
    ml_train_result A, B;
    train(with, SCALE_G, &A);
    train(without, SCALE_G - 1, &B);
    assert_true(A.diverged[BAD] >= 0 && A.diverged[BAD] < 8);
    assert_true(isnan(A.eval_loss[BAD]) && isnan(A.final_loss[BAD]));
    size_t np = (size_t)40 * 6 + 40 + (size_t)ml_run_out_dim(&big[0]) * 40;
    for (int i = 0, j = 0; i < SCALE_G; i++) {
        if (i == BAD) continue;
        assert_int_equal(A.diverged[i], -1);
        assert_same_model(&A, i, SCALE_G, &B, j, SCALE_G - 1, np);
        j++;
    }
    ml_train_result_free(&A);
    ml_train_result_free(&B);
}
static void test_divergence_at_scale_decoder(void **s) { (void)s; check_divergence_at_scale(TASK_DECODER); }
static void test_divergence_at_scale_reprojector(void **s) { (void)s; check_divergence_at_scale(TASK_REPROJECTOR); }
static void test_divergence_at_scale_abs(void **s) { (void)s; check_divergence_at_scale(TASK_ABS); }

/* Groups side by side (ml_train_groups): three groups of different shapes,
 * one of them with fewer steps and a diverging model, trained in lockstep
 * are bit-identical to each trained alone, with the same loss logs. */
static void test_side_by_side(void **s) {
    (void)s;
    static ml_run sb[7];
    for (int i = 0; i < 7; i++) {
        int grp = i < 3 ? 0 : i < 5 ? 1 : 2;
        ml_task task = grp == 1 ? TASK_REPROJECTOR : TASK_DECODER;
        sb[i] = test_run(task, grp == 2 ? ACT_GELU : ACT_RELU, 24 + 8 * grp, 6, 20 + 12 * grp, 16);
        sb[i].seed = 500 + i;
        sb[i].lr = 0.003 * (1 + i % 3);
        sb[i].l1 = i % 2 ? 0.001 : 0;
        snprintf(sb[i].id, sizeof sb[i].id, "r%06d", i);
    }
    for (int i = 3; i < 5; i++) sb[i].steps = sb[0].steps / 2 + 1; /* group 1 finishes early */
    sb[6].lr = 1e38; /* diverges: frozen in its own group only */
    sb[6].decay = 0;
    const ml_run *rp[7];
    for (int i = 0; i < 7; i++) rp[i] = &sb[i];
    ml_group *gs[3] = {ml_group_create(rp, 3), ml_group_create(rp + 3, 2), ml_group_create(rp + 5, 2)};
    ml_train_result wave[3], alone[3];
    ml_train_groups(&ml_backend_cpu, (const ml_group *const *)gs, 3, wave, NULL, NULL, NULL);
    for (int w = 0; w < 3; w++) {
        ml_train_group(&ml_backend_cpu, gs[w], &alone[w], NULL, NULL, NULL);
        assert_false(wave[w].interrupted);
        for (int i = 0; i < gs[w]->G; i++) {
            assert_same_model(&wave[w], i, gs[w]->G, &alone[w], i, gs[w]->G, gs[w]->n_param);
            assert_memory_equal(&wave[w].diverged[i], &alone[w].diverged[i], sizeof(long));
        }
        assert_memory_equal(wave[w].log_step, alone[w].log_step, sizeof(long) * (size_t)wave[w].n_log);
    }
    assert_true(wave[0].n_log > wave[1].n_log);
    assert_true(wave[2].diverged[1] >= 0 && wave[2].diverged[0] == -1);
    for (int w = 0; w < 3; w++) {
        ml_train_result_free(&wave[w]);
        ml_train_result_free(&alone[w]);
        ml_group_free(gs[w]);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_side_by_side),
        cmocka_unit_test(test_invariance_decoder),
        cmocka_unit_test(test_invariance_reprojector),
        cmocka_unit_test(test_invariance_abs),
        cmocka_unit_test(test_invariance_cut_model),
        cmocka_unit_test(test_divergence_isolated),
        cmocka_unit_test(test_divergence_at_scale_decoder),
        cmocka_unit_test(test_divergence_at_scale_reprojector),
        cmocka_unit_test(test_divergence_at_scale_abs),
    };
    return cmocka_run_group_tests_name("group", tests, NULL, NULL);
}
