/* GPU tests of the CUDA backend against its CPU twin (llm.c pattern), run
 * by `make test-gpu` on a GPU machine with MONOLAB_POISON=1 so that every
 * device work buffer starts as NaN and an unwritten output cannot pass.
 * Every case runs under each kernel variant (MONOLAB_KERNELS=ref, fast,
 * fast without tiny and graph, so that gather runs at small N too, lt, and
 * lt,batched,graph), and every error is measured per model and, for
 * parameters and gradients, per tensor (W1, b1, W2), so that a bug
 * confined to one model or to b1 cannot hide in a whole-buffer norm.
 *
 * - ops: each step of three training steps on identical state, for every
 *   task, activation and optimiser, each model with its own lr, decay,
 *   bias offset and l1: X and T bit for bit (same Philox stream, same sum
 *   order, no FMA contraction), PRE, H, Y, dY, dPRE, gradients, updated
 *   parameters, the loss and the eval loss by normalised error (fp32:
 *   1e-5; tf32: 5e-3; gradients and parameters 10x; from the second step
 *   on 10x more: include/monolab/twin_tolerance.h says why), sfa (always
 *   fp32) by 1e-5;
 *   loop paths: B > 256 and out > 256, N = 16,384 (sample tiles and
 *   gather flushes), and grid-stride wrap-around (MONOLAB_GRID_CAP=1);
 * - lt (cuBLASLt RELU_BIAS epilogue, kernels/lt_epilogue.cuh): the same
 *   cases and the same tolerances (the epilogue's bias add is the one fp32
 *   add bias_act makes; only the GEMM's summation order differs, as for
 *   every variant). A ReLU group under lt never writes PRE, so PRE is not
 *   compared there; with MONOLAB_POISON it stays NaN, which is how the test
 *   tells the epilogue from the fallback (GELU, SoLU, or no cuBLASLt
 *   algorithm), and each lt variant must have run the epilogue in at least
 *   one fp32 and one tf32 case, or the test fails;
 * - trajectory: 200 steps of a group of 5 in fp32 through the training
 *   loop (graph replay in fast and lt,batched,graph): loss curves and
 *   final weights within 1e-4 relative of the CPU (ref, fast, lt,
 *   lt,batched,graph);
 * - determinism: two GPU runs are bit-identical;
 * - divergence: a model that diverges at step 1 is frozen at step 1 on
 *   both backends, its parameters never change afterwards, its eval loss is
 *   NaN, and its neighbours match the CPU;
 * - group invariance: a model alone and the same model inside a group of
 *   17 (and, with n_param odd so that its operands' alignment differs, of 6)
 *   are bit-identical without batched (ref, lt: one GEMM or matmul per
 *   model, so the batch count cannot change cuBLAS's algorithm; the odd
 *   shape checks that operand alignment, which does vary with a model's
 *   index in the group, does not change it either); with
 *   batched GEMMs the difference is printed and must stay within 1e-6
 *   normalised;
 * - side by side: three small groups of different shapes trained
 *   concurrently (ml_train_groups, one stream each) are bit-identical to
 *   each trained alone, and the `streams` variant asks for side-by-side
 *   waves for small groups only.
 * MONOLAB_GPU_QUICK=1 shrinks the work, never the list of cases, for
 * compute-sanitizer runs and for `make test` on the CPU execution layer:
 * fewer steps, smaller batches, N = 4,500 for the multi-tile case. */
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
#include "monolab/twin_tolerance.h"
#include "test_helpers.h"

static const ml_backend *cuda;
static const char *const VARIANTS[] = {"ref", "fast", "gather,fused,batched", "lt", "lt,batched,graph"};
enum { N_VARIANTS = sizeof VARIANTS / sizeof *VARIANTS };
/* the whole-run tests: the reference, everything, and the lt variant alone and with batching and graphs */
static const char *const RUN_VARIANTS[] = {"ref", "fast", "lt", "lt,batched,graph"};
enum { N_RUN_VARIANTS = sizeof RUN_VARIANTS / sizeof *RUN_VARIANTS };

/* Whether a MONOLAB_KERNELS value switches `name` on (fast: every switch). */
static int variant_has(const char *v, const char *name) {
    if (!strcmp(v, "fast")) return 1;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (!strcmp(t, name)) return 1;
    return 0;
}

static const char *variant_now = "ref"; /* the variant test_ops runs */
static int lt_epilogue_cases[2];        /* [fp32, tf32]: ReLU cases whose forward ran the cuBLASLt epilogue */

static double normerr(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return sqrt(num / (den > 0 ? den : 1e-30));
}

/* gpu vs cpu over [G][per]: each model separately, exact when tol == 0. */
static void check_per_model(const char *what, const float *gpu, const float *cpu, int G, size_t per, double tol) {
    for (int gi = 0; gi < G; gi++) {
        const float *a = gpu + (size_t)gi * per, *b = cpu + (size_t)gi * per;
        for (size_t i = 0; i < per; i++)
            if (!isfinite(a[i]) && isfinite(b[i])) fail_msg("%s model %d [%zu]: not written by the GPU", what, gi, i);
        if (tol == 0) {
            for (size_t i = 0; i < per; i++)
                if (memcmp(&a[i], &b[i], sizeof(float)))
                    fail_msg("%s model %d [%zu]: %.9g (gpu) != %.9g (cpu), exact equality expected", what, gi, i, a[i],
                             b[i]);
            continue;
        }
        double e = normerr(a, b, per);
        if (e > tol) fail_msg("%s model %d: normalised error %.3g > %.1g", what, gi, e, tol);
    }
}

/* parameter-shaped buffers: per model and per tensor */
static void check_tensors(const char *what, const float *gpu, const float *cpu, const ml_group *g, double tol) {
    const struct { const char *name; size_t lo, hi; } t[3] = {
        {"W1", g->off_W1, g->off_b1}, {"b1", g->off_b1, g->off_W2}, {"W2", g->off_W2, g->n_param}};
    char label[64];
    for (int gi = 0; gi < g->G; gi++)
        for (int i = 0; i < 3; i++) {
            snprintf(label, sizeof label, "%s.%s model %d", what, t[i].name, gi);
            const float *a = gpu + (size_t)gi * g->n_param + t[i].lo, *b = cpu + (size_t)gi * g->n_param + t[i].lo;
            check_per_model(label, a, b, 1, t[i].hi - t[i].lo, tol);
        }
}

static void compare_buf(void *sc, void *sg, const ml_group *g, const char *name, size_t per_model, double tol) {
    size_t n = per_model * g->G;
    float *a = malloc(sizeof(float) * n), *b = malloc(sizeof(float) * n);
    ml_backend_cpu.peek(sc, g, name, a);
    cuda->peek(sg, g, name, b);
    if (!strcmp(name, "grads") || !strcmp(name, "m1") || !strcmp(name, "m2")) check_tensors(name, b, a, g, tol);
    else check_per_model(name, b, a, g->G, per_model, tol);
    free(a);
    free(b);
}

static void compare_loss(const char *what, const double *c, const double *g, int G, double tol) {
    for (int i = 0; i < G; i++)
        if (!(fabs(c[i] - g[i]) <= tol * fabs(c[i]) + 1e-12))
            fail_msg("%s model %d: %.9g (cpu) vs %.9g (gpu)", what, i, c[i], g[i]);
}

/* An lt ReLU group's forward writes H, never PRE (kernels/lt_epilogue.cuh);
 * under MONOLAB_POISON its PRE is then NaN everywhere, while the fallback
 * path writes every element. */
static int pre_unwritten(void *sg, const ml_group *g) {
    size_t n;
    ml_peek_buffer(g, "PRE", &n);
    float *p = malloc(sizeof(float) * n);
    cuda->peek(sg, g, "PRE", p);
    int all = 1;
    for (size_t i = 0; i < n; i++) all &= isnan(p[i]) != 0;
    free(p);
    return all;
}

typedef struct {
    ml_task task;
    ml_act act;
    ml_optim opt;
    ml_precision prec;
    int N, m, k, B;
} op_case;

static void ops_case(op_case oc) {
    enum { G = 3 };
    ml_run r[G];
    const ml_run *rp[G];
    for (int i = 0; i < G; i++) {
        r[i] = test_run(oc.task, oc.act, oc.N, oc.m, oc.k, oc.B);
        r[i].seed = 11 + i;
        r[i].optimizer = oc.opt;
        r[i].precision = oc.prec;
        r[i].lr = 0.01 * (i + 1);      /* per-model values, all different */
        r[i].decay = 0.03 * i;
        r[i].bias_offset = -0.5 * i;
        r[i].l1 = 0.01 * i;
        rp[i] = &r[i];
    }
    ml_group *g = ml_group_create(rp, G);
    void *sc = ml_backend_cpu.create(g), *sg = cuda->create(g);
    double tol = 0; /* per step: include/monolab/twin_tolerance.h */
    const size_t B = g->B;
    float *pc = malloc(sizeof(float) * G * g->n_param), *pg = malloc(sizeof(float) * G * g->n_param);
    for (int step = 0; step < 3; step++) {
        tol = ml_twin_tol(oc.prec, step);
        ml_backend_cpu.sample(sc, g, ML_STREAM_TRAIN, step);
        cuda->sample(sg, g, ML_STREAM_TRAIN, step);
        compare_buf(sc, sg, g, "T", B * g->out, 0.0); /* same stream, same order: exact */
        compare_buf(sc, sg, g, "X", B * g->m, 0.0);
        ml_backend_cpu.forward(sc, g);
        cuda->forward(sg, g);
        if (variant_has(variant_now, "lt") && oc.act == ACT_RELU && pre_unwritten(sg, g)) {
            if (step == 0) lt_epilogue_cases[oc.prec == PREC_TF32]++; /* H is checked below, PRE does not exist */
        } else {
            compare_buf(sc, sg, g, "PRE", B * g->k, tol);
        }
        compare_buf(sc, sg, g, "H", B * g->k, tol);
        compare_buf(sc, sg, g, "Y", B * g->out, tol);
        ml_backend_cpu.backward(sc, g, step);
        cuda->backward(sg, g, step);
        compare_buf(sc, sg, g, "Y", B * g->out, tol); /* now dY */
        compare_buf(sc, sg, g, "dH", B * g->k, ML_TWIN_GRAD_FACTOR * tol);
        compare_buf(sc, sg, g, "grads", g->n_param, ML_TWIN_GRAD_FACTOR * tol);
        double lc[G], lg[G];
        ml_backend_cpu.status(sc, g, lc, NULL);
        cuda->status(sg, g, lg, NULL);
        compare_loss("training loss", lc, lg, G, tol);
        ml_backend_cpu.optimize(sc, g, step, 0.9f, 1);
        cuda->optimize(sg, g, step, 0.9f, 1);
        ml_backend_cpu.params(sc, g, pc);
        cuda->params(sg, g, pg);
        check_tensors("params", pg, pc, g, ML_TWIN_GRAD_FACTOR * tol);
        compare_buf(sc, sg, g, "m1", g->n_param, ML_TWIN_GRAD_FACTOR * tol);
    }
    /* the eval loss: its own stream, then forward and mse */
    double ec[G], eg[G];
    ml_backend_cpu.sample(sc, g, ML_STREAM_EVAL, 0);
    cuda->sample(sg, g, ML_STREAM_EVAL, 0);
    ml_backend_cpu.forward(sc, g);
    cuda->forward(sg, g);
    ml_backend_cpu.mse(sc, g, ec);
    cuda->mse(sg, g, eg);
    compare_loss("eval loss", ec, eg, G, tol);
    /* sfa is pedantic fp32 whatever the training precision */
    size_t ns = (size_t)g->k * g->N;
    float *Sc = malloc(sizeof(float) * G * ns), *Sg = malloc(sizeof(float) * G * ns);
    ml_backend_cpu.sfa(sc, g, Sc);
    cuda->sfa(sg, g, Sg);
    cuda->params(sg, g, pg);
    ml_backend_cpu.destroy(sc);
    /* the CPU's sfa from the GPU's parameters isolates the metric from training drift */
    ml_group *g2 = ml_group_create(rp, G);
    memcpy(g2->init_params, pg, sizeof(float) * G * g->n_param);
    void *sc2 = ml_backend_cpu.create(g2);
    ml_backend_cpu.sfa(sc2, g2, Sc);
    check_per_model("sfa", Sg, Sc, G, ns, 1e-5);
    ml_backend_cpu.destroy(sc2);
    ml_group_free(g2);
    free(Sc);
    free(Sg);
    free(pc);
    free(pg);
    cuda->destroy(sg);
    ml_group_free(g);
}

static void test_ops(void **s) {
    (void)s;
    int quick = getenv("MONOLAB_GPU_QUICK") != NULL;
    for (int v = 0; v < N_VARIANTS; v++) {
        setenv("MONOLAB_KERNELS", VARIANTS[v], 1);
        print_message("variant %s\n", VARIANTS[v]);
        variant_now = VARIANTS[v];
        lt_epilogue_cases[0] = lt_epilogue_cases[1] = 0;
        for (int task = 0; task < 3; task++)
            for (int act = 0; act < 3; act++)
                for (int opt = 0; opt < 3; opt++)
                    ops_case((op_case){(ml_task)task, (ml_act)act, (ml_optim)opt, PREC_FP32, quick ? 40 : 96, 12,
                                       quick ? 48 : 130, quick ? 16 : 64});
        ops_case((op_case){TASK_DECODER, ACT_RELU, OPT_LAMB, PREC_TF32, 96, 12, 130, 64});
        /* B not a multiple of the tiny kernel's rows per block: its grid must round up */
        ops_case((op_case){TASK_DECODER, ACT_RELU, OPT_ADAM, PREC_FP32, 40, 12, 48, 30});
        /* B > 256 and out > 256: the loss warps and the db1 slabs loop */
        ops_case((op_case){TASK_DECODER, ACT_GELU, OPT_LAMB, PREC_FP32, 300, 20, 64, 600});
        ops_case((op_case){TASK_REPROJECTOR, ACT_SOLU, OPT_ADAM, PREC_FP32, 300, 40, 64, 300});
        /* and with ReLU, so that lt's epilogue (and H standing in for PRE in the slabs) runs at B > 256 */
        ops_case((op_case){TASK_DECODER, ACT_RELU, OPT_ADAMW, PREC_FP32, 300, 20, 64, 600});
        /* N = 16,384 (quick: 4,500): several ref tiles and several gather flushes per sample */
        ops_case((op_case){TASK_DECODER, ACT_RELU, OPT_LAMB, PREC_FP32, quick ? 4500 : 16384, 16, 32, quick ? 16 : 64});
        /* grid-stride wrap-around: one block per grid_for launch (G*k = 390 > 256 threads, so a
           launch sized by grid_for that is not a grid-stride loop leaves elements unwritten) */
        setenv("MONOLAB_GRID_CAP", "1", 1);
        ops_case((op_case){TASK_ABS, ACT_RELU, OPT_ADAMW, PREC_FP32, 96, 12, 130, 64});
        unsetenv("MONOLAB_GRID_CAP");
        if (variant_has(VARIANTS[v], "lt")) {
            print_message("variant %s: cuBLASLt epilogue ran in %d fp32 and %d tf32 ReLU cases\n", VARIANTS[v],
                          lt_epilogue_cases[0], lt_epilogue_cases[1]);
            if (!lt_epilogue_cases[0] || !lt_epilogue_cases[1])
                fail_msg("variant %s: the cuBLASLt epilogue never ran in %s (every group fell back to the plain "
                         "path: see the '[monolab] lt:' line above)", VARIANTS[v],
                         !lt_epilogue_cases[0] ? "fp32" : "tf32");
        }
    }
    variant_now = "ref";
    unsetenv("MONOLAB_KERNELS");
}

/* Keeps the parameters after the first step (the log2 checkpoint at done = 1). */
static void capture_ckpt(void *ctx, const ml_group *g, long done, const float *params) {
    if (done == 1) memcpy(ctx, params, sizeof(float) * g->G * g->n_param);
}

static void train(const ml_backend *be, const ml_run *const *rp, int G, ml_train_result *res, float *at1) {
    ml_group *g = ml_group_create(rp, G);
    ml_train_group(be, g, res, at1 ? capture_ckpt : NULL, NULL, at1);
    ml_group_free(g);
}

/* Under an lt variant the runs' ReLU forward must take the cuBLASLt path,
 * or the tests below would silently check the fallback: one forward on a
 * fresh (NaN-poisoned) state leaves PRE unwritten only on that path. */
static void require_lt_ran(const char *variant, const ml_run *const *rp, int G) {
    if (!variant_has(variant, "lt")) return;
    ml_group *g = ml_group_create(rp, G);
    void *st = cuda->create(g);
    cuda->sample(st, g, ML_STREAM_TRAIN, 0);
    cuda->forward(st, g);
    int ran = pre_unwritten(st, g);
    cuda->destroy(st);
    ml_group_free(g);
    if (!ran) fail_msg("variant %s: the cuBLASLt epilogue fell back to the plain path (see '[monolab] lt:')", variant);
}

static void test_trajectory_determinism_divergence(void **s) {
    (void)s;
    const int quick = getenv("MONOLAB_GPU_QUICK") != NULL;
    enum { G = 5 };
    const size_t np = (size_t)128 * 16 + 128 + 64 * 128;
    for (int v = 0; v < N_RUN_VARIANTS; v++) {
        setenv("MONOLAB_KERNELS", RUN_VARIANTS[v], 1);
        print_message("variant %s\n", RUN_VARIANTS[v]);
        ml_run r[G];
        const ml_run *rp[G];
        for (int i = 0; i < G; i++) {
            r[i] = test_run(TASK_DECODER, ACT_RELU, 64, 16, 128, 256);
            r[i].steps = quick ? 24 : 200;
            r[i].seed = 40 + i;
            r[i].lr = 0.003 * (i + 1);
            r[i].decay = 0.01 * i;
            r[i].bias_offset = -0.25 * i;
            r[i].precision = PREC_FP32;
            r[i].log_every = 1;
            r[i].checkpoints = CKPT_LOG2;
            rp[i] = &r[i];
        }
        r[3].lr = 1e38; /* the first update overflows: the loss of step 1 is not finite */
        r[3].decay = 0;
        require_lt_ran(RUN_VARIANTS[v], rp, G);
        ml_train_result c, g1, g2;
        float *c_at1 = malloc(sizeof(float) * G * np), *g_at1 = malloc(sizeof(float) * G * np);
        train(&ml_backend_cpu, rp, G, &c, c_at1);
        train(cuda, rp, G, &g1, g_at1);
        train(cuda, rp, G, &g2, NULL);
        assert_memory_equal(g1.params, g2.params, sizeof(float) * G * np); /* determinism */
        assert_memory_equal(g1.log_loss, g2.log_loss, sizeof(float) * G * g1.n_log);
        /* divergence: the same step on both, parameters frozen since, eval loss NaN */
        assert_int_equal(c.diverged[3], 1);
        assert_int_equal(g1.diverged[3], 1);
        assert_memory_equal(c.params + 3 * np, c_at1 + 3 * np, sizeof(float) * np);
        assert_memory_equal(g1.params + 3 * np, g_at1 + 3 * np, sizeof(float) * np);
        assert_true(isnan(c.eval_loss[3]) && isnan(g1.eval_loss[3]));
        for (int t = 1; t < c.n_log; t++) assert_true(isnan(c.log_loss[t * G + 3]) && isnan(g1.log_loss[t * G + 3]));
        for (int i = 0; i < G; i++) {
            if (i == 3) continue;
            assert_int_equal(g1.diverged[i], -1);
            for (int t = 0; t < c.n_log; t++) {
                double a = c.log_loss[t * G + i], b = g1.log_loss[t * G + i];
                if (fabs(a - b) > 1e-4 * fabs(a)) fail_msg("model %d step %d: loss %.8g (cpu) vs %.8g (gpu)", i, t, a, b);
            }
            if (fabs(c.eval_loss[i] - g1.eval_loss[i]) > 1e-4 * fabs(c.eval_loss[i]))
                fail_msg("model %d eval loss %.8g (cpu) vs %.8g (gpu)", i, c.eval_loss[i], g1.eval_loss[i]);
            ml_group tmp = {0};
            tmp.G = 1;
            tmp.n_param = np;
            tmp.off_b1 = (size_t)128 * 16;
            tmp.off_W2 = tmp.off_b1 + 128;
            char label[32];
            snprintf(label, sizeof label, "final model %d", i);
            check_tensors(label, g1.params + i * np, c.params + i * np, &tmp, 1e-4);
        }
        free(c_at1);
        free(g_at1);
        ml_train_result_free(&c);
        ml_train_result_free(&g1);
        ml_train_result_free(&g2);
    }
    unsetenv("MONOLAB_KERNELS");
}

/* One model alone against the same model as member ME of a group of G,
 * in two shapes: n_param a multiple of 64 floats, and n_param odd, where
 * member ME's weights sit 4-byte aligned in the group but 256-byte aligned
 * alone (cuBLAS may choose its kernel by operand alignment). */
static void invariance_case(const char *variant, int N, int m, int k, int B, int G, int ME, int steps) {
    ml_run r[32];
    const ml_run *rp[32];
    for (int i = 0; i < G; i++) {
        r[i] = test_run(TASK_DECODER, ACT_RELU, N, m, k, B);
        r[i].steps = steps;
        r[i].seed = 100 + i;
        r[i].lr = 0.002 * (i + 1);
        r[i].bias_offset = -0.1 * (i % 5);
        r[i].precision = PREC_FP32;
        r[i].log_every = 1;
        rp[i] = &r[i];
    }
    ml_train_result alone, group;
    require_lt_ran(variant, rp, G);
    train(cuda, rp + ME, 1, &alone, NULL);
    train(cuda, rp, G, &group, NULL);
    const size_t np = (size_t)k * m + k + (size_t)N * k;
    const float *a = alone.params, *b = group.params + ME * np;
    int same = !memcmp(a, b, sizeof(float) * np);
    for (int t = 0; t < alone.n_log; t++) same &= alone.log_loss[t] == group.log_loss[t * G + ME];
    double e = normerr(a, b, np);
    print_message("variant %s, n_param %zu: alone vs member %d of %d: %s (normalised difference %.3g)\n", variant, np,
                  ME, G, same ? "bit-identical" : "differ", e);
    if (!variant_has(variant, "batched")) { /* one product per model: invariant */
        if (!same)
            fail_msg("variant %s, n_param %zu: a model's bits depend on its group%s", variant, np,
                     np % 64 ? " (its operands' alignment differs: pad the per-model stride?)" : "");
    } else {
        assert_true(e <= 1e-6); /* batched: cuBLAS may pick its algorithm by batch count */
    }
    ml_train_result_free(&alone);
    ml_train_result_free(&group);
}

static void test_group_invariance(void **s) {
    (void)s;
    const int quick = getenv("MONOLAB_GPU_QUICK") != NULL;
    for (int v = 0; v < N_RUN_VARIANTS; v++) {
        setenv("MONOLAB_KERNELS", RUN_VARIANTS[v], 1);
        invariance_case(RUN_VARIANTS[v], 64, 16, 96, quick ? 128 : 512, 17, 5, quick ? 12 : 100);
        invariance_case(RUN_VARIANTS[v], 63, 15, 97, 128, 6, 3, quick ? 6 : 30); /* n_param 7663 */
    }
    unsetenv("MONOLAB_KERNELS");
}

/* Three small groups of different shapes (one diverging model, one group
 * with fewer steps) concurrently on three streams vs each alone. */
static void test_side_by_side(void **s) {
    (void)s;
    for (int v = 0; v < 2; v++) { /* ref, fast */
        setenv("MONOLAB_KERNELS", VARIANTS[v], 1);
        ml_run r[7];
        const ml_run *rp[7];
        for (int i = 0; i < 7; i++) {
            int grp = i < 3 ? 0 : i < 5 ? 1 : 2;
            r[i] = test_run(grp == 1 ? TASK_REPROJECTOR : TASK_DECODER, grp == 2 ? ACT_GELU : ACT_RELU, 48 + 16 * grp,
                            12, 40 + 24 * grp, 128);
            r[i].steps = grp == 1 ? 61 : 120;
            r[i].seed = 300 + i;
            r[i].lr = 0.003 * (1 + i % 3);
            r[i].precision = PREC_FP32;
            r[i].log_every = 7;
            rp[i] = &r[i];
        }
        r[6].lr = 1e38;
        r[6].decay = 0;
        ml_group *gs[3] = {ml_group_create(rp, 3), ml_group_create(rp + 3, 2), ml_group_create(rp + 5, 2)};
        ml_train_result wave[3], alone[3];
        ml_train_groups(cuda, (const ml_group *const *)gs, 3, wave, NULL, NULL, NULL);
        for (int w = 0; w < 3; w++) {
            ml_train_group(cuda, gs[w], &alone[w], NULL, NULL, NULL);
            size_t np = gs[w]->n_param;
            assert_memory_equal(wave[w].params, alone[w].params, sizeof(float) * gs[w]->G * np);
            assert_memory_equal(wave[w].log_loss, alone[w].log_loss, sizeof(float) * gs[w]->G * wave[w].n_log);
            assert_memory_equal(wave[w].diverged, alone[w].diverged, sizeof(long) * gs[w]->G);
            for (int i = 0; i < gs[w]->G; i++)
                assert_memory_equal(&wave[w].eval_loss[i], &alone[w].eval_loss[i], sizeof(double));
            ml_train_result_free(&wave[w]);
            ml_train_result_free(&alone[w]);
            ml_group_free(gs[w]);
        }
        /* streams (in fast) asks for waves of small groups, never of big ones; ref never */
        ml_run big = test_run(TASK_DECODER, ACT_RELU, 512, 64, 1024, 1 << 16);
        int small_w = cuda->side_by_side(&r[0], 3), big_w = cuda->side_by_side(&big, 16);
        print_message("variant %s: side by side %d (3 small models), %d (16 paper-size models)\n", VARIANTS[v],
                      small_w, big_w);
        assert_int_equal(big_w, 1);
        if (v == 0) assert_int_equal(small_w, 1);
        else assert_true(small_w > 1);
    }
    unsetenv("MONOLAB_KERNELS");
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
        cmocka_unit_test(test_group_invariance),
        cmocka_unit_test(test_side_by_side),
    };
    return cmocka_run_group_tests_name("backend_ops", tests, NULL, NULL);
}
