/* GPU tests of the CUDA backend against its CPU twin (llm.c pattern), run
 * by `make test-gpu` on a GPU machine with MONOLAB_POISON=1 so that every
 * device work buffer starts as NaN and an unwritten output cannot pass.
 *
 * - ops: each step of a training step on identical state, for every task,
 *   activation and optimiser: X, T, PRE, H, Y, dY, dPRE, gradients and the
 *   updated parameters, by normalised error (fp32: 1e-5; tf32: 5e-3);
 * - sampling: the targets T bit for bit (same Philox stream);
 * - trajectory: 200 steps of a group of 5 in fp32: loss curves and final
 *   weights within 1e-4 relative of the CPU;
 * - determinism: two GPU runs are bit-identical;
 * - divergence: a diverging model is frozen and its neighbours match the CPU.
 * MONOLAB_GPU_QUICK=1 shrinks the work for compute-sanitizer runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "monolab/backend.h"
#include "monolab/philox.h"
#include "monolab/train.h"
#include "test_helpers.h"

static const ml_backend *cuda;

static double normerr(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return sqrt(num / (den > 0 ? den : 1e-30));
}

static void compare(void *sc, void *sg, const ml_group *g, const char *name, size_t n, double tol) {
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    ml_backend_cpu.peek(sc, g, name, a);
    cuda->peek(sg, g, name, b);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(b[i]) && isfinite(a[i])) fail_msg("%s[%zu] not written by the GPU (poison left)", name, i);
    double e = normerr(b, a, n);
    if (e > tol) fail_msg("%s: normalised error %.3g > %.1g", name, e, tol);
    free(a);
    free(b);
}

static void ops_case(ml_task task, ml_act act, ml_optim opt, ml_precision prec) {
    int quick = getenv("MONOLAB_GPU_QUICK") != NULL;
    ml_run r[3];
    const ml_run *rp[3];
    for (int i = 0; i < 3; i++) {
        r[i] = test_run(task, act, quick ? 40 : 96, 12, quick ? 48 : 130, quick ? 16 : 64);
        r[i].seed = 11 + i;
        r[i].optimizer = opt;
        r[i].precision = prec;
        r[i].l1 = 0.01 * i;
        rp[i] = &r[i];
    }
    ml_group *g = ml_group_create(rp, 3);
    void *sc = ml_backend_cpu.create(g), *sg = cuda->create(g);
    double tol = prec == PREC_FP32 ? 1e-5 : 5e-3;
    size_t G = 3, B = g->B;
    for (int step = 0; step < 3; step++) {
        ml_backend_cpu.sample(sc, g, ML_STREAM_TRAIN, step);
        cuda->sample(sg, g, ML_STREAM_TRAIN, step);
        compare(sc, sg, g, "T", G * B * g->out, task == TASK_REPROJECTOR ? 1e-6 : 0.0); /* same stream */
        compare(sc, sg, g, "X", G * B * g->m, 1e-6);
        ml_backend_cpu.forward(sc, g);
        cuda->forward(sg, g);
        compare(sc, sg, g, "PRE", G * B * g->k, tol);
        compare(sc, sg, g, "H", G * B * g->k, tol);
        compare(sc, sg, g, "Y", G * B * g->out, tol);
        ml_backend_cpu.backward(sc, g, step);
        cuda->backward(sg, g, step);
        compare(sc, sg, g, "Y", G * B * g->out, tol); /* now dY */
        compare(sc, sg, g, "dH", G * B * g->k, 10 * tol);
        compare(sc, sg, g, "grads", G * g->n_param, 10 * tol);
        double lc[3], lg[3];
        ml_backend_cpu.status(sc, g, lc, NULL);
        cuda->status(sg, g, lg, NULL);
        for (int i = 0; i < 3; i++) assert_true(fabs(lc[i] - lg[i]) <= tol * fabs(lc[i]) + 1e-12);
        ml_backend_cpu.optimize(sc, g, step, 0.9f, 1);
        cuda->optimize(sg, g, step, 0.9f, 1);
        float *pc = malloc(sizeof(float) * G * g->n_param), *pg = malloc(sizeof(float) * G * g->n_param);
        ml_backend_cpu.params(sc, g, pc);
        cuda->params(sg, g, pg);
        double e = normerr(pg, pc, G * g->n_param);
        if (e > 10 * tol) fail_msg("params after step %d: normalised error %.3g", step, e);
        free(pc);
        free(pg);
    }
    size_t ns = G * g->k * g->N;
    float *Sc = malloc(sizeof(float) * ns), *Sg = malloc(sizeof(float) * ns);
    ml_backend_cpu.sfa(sc, g, Sc);
    cuda->sfa(sg, g, Sg);
    if (normerr(Sg, Sc, ns) > 10 * tol) fail_msg("sfa: normalised error %.3g", normerr(Sg, Sc, ns));
    free(Sc);
    free(Sg);
    ml_backend_cpu.destroy(sc);
    cuda->destroy(sg);
    ml_group_free(g);
}

static void test_ops(void **s) {
    (void)s;
    for (int task = 0; task < 3; task++)
        for (int act = 0; act < 3; act++)
            for (int opt = 0; opt < 3; opt++) ops_case((ml_task)task, (ml_act)act, (ml_optim)opt, PREC_FP32);
    ops_case(TASK_DECODER, ACT_RELU, OPT_LAMB, PREC_TF32);
}

static void train(const ml_backend *be, const ml_run *const *rp, int G, ml_train_result *res) {
    ml_group *g = ml_group_create(rp, G);
    ml_train_group(be, g, res, NULL, NULL, NULL);
    ml_group_free(g);
}

static void test_trajectory_determinism_divergence(void **s) {
    (void)s;
    if (getenv("MONOLAB_GPU_QUICK")) skip();
    ml_run r[5];
    const ml_run *rp[5];
    for (int i = 0; i < 5; i++) {
        r[i] = test_run(TASK_DECODER, ACT_RELU, 64, 16, 128, 256);
        r[i].steps = 200;
        r[i].seed = 40 + i;
        r[i].lr = 0.003 * (i + 1);
        r[i].precision = PREC_FP32;
        r[i].log_every = 1;
        rp[i] = &r[i];
    }
    r[3].lr = 1e38; /* diverges */
    r[3].decay = 0;
    ml_train_result c, g1, g2;
    train(&ml_backend_cpu, rp, 5, &c);
    train(cuda, rp, 5, &g1);
    train(cuda, rp, 5, &g2);
    size_t np = g1.n_log ? (size_t)128 * 16 + 128 + 64 * 128 : 0;
    assert_memory_equal(g1.params, g2.params, sizeof(float) * 5 * np); /* determinism */
    assert_memory_equal(g1.log_loss, g2.log_loss, sizeof(float) * 5 * g1.n_log);
    assert_true(g1.diverged[3] >= 0 && c.diverged[3] >= 0);
    for (int i = 0; i < 5; i++) {
        if (i == 3) continue;
        assert_int_equal(g1.diverged[i], -1);
        for (int t = 0; t < c.n_log; t++) {
            double a = c.log_loss[t * 5 + i], b = g1.log_loss[t * 5 + i];
            if (fabs(a - b) > 1e-4 * fabs(a)) fail_msg("model %d step %d: loss %.8g (cpu) vs %.8g (gpu)", i, t, a, b);
        }
        double e = normerr(g1.params + i * np, c.params + i * np, np);
        if (e > 1e-4) fail_msg("model %d final weights: normalised error %.3g", i, e);
    }
    ml_train_result_free(&c);
    ml_train_result_free(&g1);
    ml_train_result_free(&g2);
}

int main(void) {
    char reason[256];
    setenv("MONOLAB_POISON", "1", 1);
    cuda = ml_backend_cuda_get(reason, sizeof reason);
    if (!cuda) {
        printf("no GPU: %s\n", reason);
        return 1;
    }
    printf("device: %s\n", reason);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops),
        cmocka_unit_test(test_trajectory_determinism_divergence),
    };
    return cmocka_run_group_tests_name("backend_ops", tests, NULL, NULL);
}
