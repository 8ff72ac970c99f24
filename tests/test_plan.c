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

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_split_by_memory_and_shape),
                                       cmocka_unit_test(test_large_N_launch_and_plan)};
    return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
