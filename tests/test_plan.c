/* The group planner (and memory planner): runs of equal shapes share a
 * group, groups never exceed the memory budget or max_g, and the plan is a
 * pure function of the runs in grid order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "monolab/cuda_launch.h"
#include "monolab/group.h"
#include "monolab/plan.h"
#include "test_helpers.h"

static void test_split_by_memory_and_shape(void **s) {
    (void)s;
    ml_run r[12];
    const ml_run *rp[12], *order[12];
    int starts[13];
    for (int i = 0; i < 12; i++) {
        r[i] = test_run(TASK_DECODER, ACT_RELU, 32, 8, i % 3 == 2 ? 64 : 32, 16);
        r[i].seed = i;
        r[i].lr = 0.001 * (i + 1); /* per-model: does not split groups */
        rp[i] = &r[i];
    }
    size_t per = ml_group_bytes_per_model(&r[0]);
    int ng = ml_plan_groups(rp, 12, 3 * per + per / 2, 4096, order, starts);
    /* 8 runs of k=32 -> groups of 3, 3, 2; 4 runs of k=64 (bigger) -> smaller groups */
    assert_int_equal(starts[0], 0);
    assert_int_equal(starts[1] - starts[0], 3);
    assert_int_equal(starts[2] - starts[1], 3);
    assert_int_equal(starts[3] - starts[2], 2);
    size_t per64 = ml_group_bytes_per_model(&r[2]);
    int cap64 = (int)((3 * per + per / 2) / per64);
    assert_true(cap64 >= 1 && cap64 < 3);
    assert_int_equal(starts[ng], 12);
    for (int gi = 0; gi < ng; gi++) {
        int G = starts[gi + 1] - starts[gi];
        assert_true((size_t)G * ml_group_bytes_per_model(order[starts[gi]]) <= 3 * per + per / 2);
        for (int q = starts[gi]; q < starts[gi + 1]; q++) assert_true(ml_runs_groupable(order[starts[gi]], order[q]));
        for (int q = starts[gi] + 1; q < starts[gi + 1]; q++) assert_true(order[q - 1]->seed < order[q]->seed);
    }
    /* max_g caps too */
    ng = ml_plan_groups(rp, 12, (size_t)1 << 40, 2, order, starts);
    assert_int_equal(ng, 6);
    /* unlimited: one group per shape */
    ng = ml_plan_groups(rp, 12, (size_t)1 << 40, 4096, order, starts);
    assert_int_equal(ng, 2);
    assert_int_equal(starts[1], 8);
}

/* The CUDA sample kernels' launch shape for large N (the config allows N up
 * to 2^20): the dynamic shared memory of a block stays under the 48 KiB a
 * launch gets without opting in, for both variants; and the planner plans
 * a group at N = 16,384 within its budget. */
static void test_large_N_launch_and_plan(void **s) {
    (void)s;
    const int Ns[] = {1, 2048, 12288, 12289, 16384, 100000, 1 << 20};
    for (size_t i = 0; i < sizeof Ns / sizeof Ns[0]; i++)
        for (int fast = ML_SAMPLE_REF; fast <= ML_SAMPLE_TINY; fast++) {
            if (fast == ML_SAMPLE_TINY && Ns[i] > ML_TINY_MAX_N) continue; /* the backend never picks it there */
            size_t b = ml_sample_smem_bytes(Ns[i], fast);
            if (b > ML_SMEM_NO_OPTIN) fail_msg("N=%d variant %d: %zu bytes of shared memory", Ns[i], fast, b);
            assert_true(b > 0);
        }
    ml_run r[4];
    const ml_run *rp[4], *order[4];
    int starts[5];
    for (int i = 0; i < 4; i++) {
        r[i] = test_run(TASK_DECODER, ACT_RELU, 16384, 64, 256, 1024);
        r[i].seed = i;
        rp[i] = &r[i];
    }
    size_t per = ml_group_bytes_per_model(&r[0]);
    /* [B][out] targets and outputs dominate: 2 * 1024 * 16384 floats */
    assert_true(per >= sizeof(float) * 2 * 1024 * (size_t)16384);
    int ng = ml_plan_groups(rp, 4, 2 * per, 4096, order, starts);
    assert_int_equal(ng, 2);
    assert_int_equal(starts[1], 2);
}

/* Waves: consecutive groups join while steps and log interval agree and no
 * member's width is exceeded; a narrower newcomer narrows the wave. */
static void test_waves(void **s) {
    (void)s;
    ml_run r[8];
    const ml_run *order[8];
    int starts[9];
    for (int i = 0; i < 8; i++) {
        r[i] = test_run(TASK_DECODER, ACT_RELU, 32, 8, 16 << i, 16);
        order[i] = &r[i];
        starts[i] = i;
    }
    starts[8] = 8;
    r[5].steps = r[6].steps = r[0].steps + 1; /* cannot step in lockstep with group 4 */
    int width[8] = {3, 3, 3, 3, 2, 4, 4, 1}, waves[9];
    int n = ml_plan_waves(order, starts, 8, width, waves);
    /* {0,1,2} full at 3; {3,4} narrowed to 2 by group 4; {5,6} other steps; {7} width 1 */
    int want[] = {0, 3, 5, 7, 8};
    assert_int_equal(n, 4);
    assert_memory_equal(waves, want, sizeof want);
    for (int i = 0; i < 8; i++) width[i] = 1; /* no side by side: one wave per group */
    assert_int_equal(ml_plan_waves(order, starts, 8, width, waves), 8);
    r[5].steps = r[6].steps = r[0].steps;
    r[6].log_every = r[7].log_every = r[0].log_every + 1;
    for (int i = 0; i < 8; i++) width[i] = 8;
    int want2[] = {0, 6, 8}; /* log interval differs from group 6 on */
    assert_int_equal(ml_plan_waves(order, starts, 8, width, waves), 2);
    assert_memory_equal(waves, want2, sizeof want2);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_split_by_memory_and_shape),
                                       cmocka_unit_test(test_large_N_launch_and_plan),
                                       cmocka_unit_test(test_waves)};
    return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
