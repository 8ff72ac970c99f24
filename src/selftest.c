/* monolab selftest: the device about to be used, checked against the CPU
 * twin through the backend interface, on the user's own machine, with the
 * tolerances of the GPU tests (tests/gpu/test_backend_ops.c and
 * test_embed_cuda.c, which hold the deeper versions of these cases).
 *
 *   --device cuda (default): the CUDA backend against the CPU backend; the
 *     verdict is recorded as the device's stamp (device_stamp.h), which
 *     `--device auto` trusts.
 *   --device cpu: the CPU backend against itself on one OpenMP thread,
 *     where the contract is bit-identity (docs/architecture.md
 *     "Determinism"): a check of this build on this machine.
 *   --quick (default): the kernel variants MONOLAB_KERNELS selects now, at
 *     small sizes; --full: every variant, loop paths and the grid-stride
 *     wrap-around too.
 *
 * Each case prints one line; the summary says pass, or which case failed
 * and by how much. Exit 0 on pass, 1 on a failed case.
 *
 * MONOLAB_TEST_SELFTEST (tests only): `perturb` adds 1e-3 to one value the
 * device returns, standing in for a wrong kernel; `abort` aborts in the
 * first case, standing in for a crash. */
#include "monolab/backend.h"
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/device_stamp.h"
#include "monolab/model_init.h"
#include "monolab/philox.h"
#include "monolab/train.h"
#include "monolab/twin_tolerance.h"
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const ml_backend *dev, *ref;
    int cpu_mode;   /* dev is the CPU backend on one thread */
    int full;
    int passed, failed;
    char first_fail[400];
    double worst;   /* the largest error/tolerance ratio seen in the current case */
    char why[256];  /* the current case's first failure */
} selftest;

/* ------------------------------------------------------------ the two sides */
/* cpu mode runs the device side on one OpenMP thread; the reference keeps
 * the default count. */
static void side(const selftest *t, int device) {
    static int dflt = 0;
    if (!dflt) dflt = omp_get_max_threads();
    if (t->cpu_mode) omp_set_num_threads(device ? 1 : dflt);
}

static int perturb_mode(void) {
    const char *e = getenv("MONOLAB_TEST_SELFTEST");
    return e && !strcmp(e, "perturb");
}

/* ------------------------------------------------------------ comparisons */
/* Normalised error of the device's values against the reference's, per
 * model; tol 0 asks for identical bits. Records the case's first failure. */
static void compare(selftest *t, const char *what, const float *dev, const float *ref, int G, size_t per, double tol) {
    for (int g = 0; g < G; g++) {
        const float *a = dev + (size_t)g * per, *b = ref + (size_t)g * per;
        double num = 0, den = 0;
        int unwritten = 0;
        for (size_t i = 0; i < per; i++) {
            if (!isfinite(a[i]) && isfinite(b[i])) unwritten = 1;
            double d = (double)a[i] - b[i];
            num += d * d;
            den += (double)b[i] * b[i];
        }
        double err = unwritten ? INFINITY : sqrt(num / (den > 0 ? den : 1e-30));
        int bad = tol == 0 ? memcmp(a, b, sizeof(float) * per) != 0 : !(err <= tol);
        double ratio = tol == 0 ? (bad ? INFINITY : 0) : err / tol;
        if (ratio > t->worst) t->worst = ratio;
        if (bad && !t->why[0])
            snprintf(t->why, sizeof t->why, "%s, model %d: %s", what, g,
                     unwritten ? "not finite where the CPU's is"
                     : tol == 0 ? "bits differ where the contract is bit-identity"
                                : "normalised error above tolerance");
        if (bad && !unwritten && tol > 0)
            snprintf(t->why + strlen(t->why), sizeof t->why - strlen(t->why), " (%.3g > %.3g)", err, tol);
        if (bad) return;
    }
}

static void compare_d(selftest *t, const char *what, const double *dev, const double *ref, int G, double tol) {
    float a[64], b[64];
    for (int g = 0; g < G && g < 64; g++) a[g] = (float)dev[g], b[g] = (float)ref[g];
    compare(t, what, a, b, G < 64 ? G : 64, 1, tol);
}

static void begin(selftest *t) {
    t->worst = 0;
    t->why[0] = 0;
}

static void end(selftest *t, const char *name, double tol) {
    int ok = !t->why[0];
    if (ok) t->passed++;
    else {
        t->failed++;
        if (!t->first_fail[0]) snprintf(t->first_fail, sizeof t->first_fail, "%s: %s", name, t->why);
    }
    if (ok && tol > 0) printf("  ok    %-44s worst error %.2g of its tolerance %.0e\n", name, t->worst, tol);
    else if (ok) printf("  ok    %-44s bit-identical\n", name);
    else printf("  FAIL  %-44s %s\n", name, t->why);
    fflush(stdout);
}

/* ------------------------------------------------------------ cases */
static ml_run small_run(ml_task task, ml_act act, ml_optim opt, ml_precision prec, int N, int m, int k, int B) {
    ml_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "r000000");
    r.task = task, r.act = act, r.optimizer = opt, r.precision = prec;
    r.N = N, r.m = m, r.k = k, r.batch = B, r.eval_batch = 2 * B;
    r.seed = 1, r.bias_offset = -0.5, r.sampling = SAMPLE_UNIFORM, r.eps = 0.125;
    r.steps = 64, r.lr = 0.01, r.schedule = SCHED_COSINE, r.t_max = 16, r.decay = 0.03, r.weight_decay = 0.01;
    r.log_every = 8, r.checkpoints = CKPT_NONE;
    return r;
}

static void peek_both(selftest *t, void *sd, void *sr, const ml_group *g, const char *buf, double tol) {
    size_t n;
    ml_peek_buffer(g, buf, &n);
    float *a = ml_malloc(sizeof(float) * n), *b = ml_malloc(sizeof(float) * n);
    side(t, 1);
    t->dev->peek(sd, g, buf, a);
    side(t, 0);
    t->ref->peek(sr, g, buf, b);
    if (perturb_mode() && !strcmp(buf, "H")) a[n / 2] += 1e-3f * (1.0f + fabsf(a[n / 2]));
    compare(t, buf, a, b, g->G, n / g->G, tol);
    free(a);
    free(b);
}

/* Three training steps op by op on identical state, then the eval loss
 * and the single-feature activations, every model with its own lr,
 * decay, bias offset and l1. */
static void case_ops(selftest *t, ml_task task, ml_act act, ml_optim opt, ml_precision prec, int N, int m, int k,
                     int B) {
    static const char *TASK[] = {"decoder", "reprojector", "abs"}, *ACT[] = {"relu", "gelu", "solu"},
                      *OPT[] = {"lamb", "adam", "adamw"};
    char name[96];
    snprintf(name, sizeof name, "ops %s %s %s %s N=%d B=%d", TASK[task], ACT[act], OPT[opt],
             prec == PREC_TF32 ? "tf32" : "fp32", N, B);
    begin(t);
    enum { G = 3 };
    ml_run r[G];
    const ml_run *rp[G];
    for (int i = 0; i < G; i++) {
        r[i] = small_run(task, act, opt, prec, N, m, k, B);
        r[i].seed = 11 + i, r[i].lr = 0.01f * (i + 1), r[i].decay = 0.02f * i, r[i].bias_offset = -0.3 * i;
        r[i].l1 = i == 2 ? 0.01 : 0;
        rp[i] = &r[i];
    }
    double tol = 0; /* per step (twin_tolerance.h); 0 in cpu mode: bit-identity */
    ml_group *g = ml_group_create(rp, G);
    side(t, 1);
    void *sd = t->dev->create(g);
    side(t, 0);
    void *sr = t->ref->create(g);
    if (getenv("MONOLAB_TEST_SELFTEST") && !strcmp(getenv("MONOLAB_TEST_SELFTEST"), "abort")) abort();
    for (long step = 0; step < 3 && !t->why[0]; step++) {
        tol = t->cpu_mode ? 0 : ml_twin_tol(prec, step);
        side(t, 1);
        t->dev->sample(sd, g, ML_STREAM_TRAIN, (uint32_t)step);
        side(t, 0);
        t->ref->sample(sr, g, ML_STREAM_TRAIN, (uint32_t)step);
        peek_both(t, sd, sr, g, "X", 0); /* the same Philox stream and sum order: exact */
        peek_both(t, sd, sr, g, "T", 0);
        side(t, 1);
        t->dev->forward(sd, g);
        side(t, 0);
        t->ref->forward(sr, g);
        peek_both(t, sd, sr, g, "H", tol);
        peek_both(t, sd, sr, g, "Y", tol);
        side(t, 1);
        t->dev->backward(sd, g, step);
        side(t, 0);
        t->ref->backward(sr, g, step);
        peek_both(t, sd, sr, g, "grads", ML_TWIN_GRAD_FACTOR * tol);
        double ld[G], lr_[G];
        side(t, 1);
        t->dev->status(sd, g, ld, NULL);
        side(t, 0);
        t->ref->status(sr, g, lr_, NULL);
        compare_d(t, "training loss", ld, lr_, G, tol);
        side(t, 1);
        t->dev->optimize(sd, g, step, 0.9f, 1);
        side(t, 0);
        t->ref->optimize(sr, g, step, 0.9f, 1);
        float *pd = ml_malloc(sizeof(float) * G * g->n_param), *pr = ml_malloc(sizeof(float) * G * g->n_param);
        side(t, 1);
        t->dev->params(sd, g, pd);
        side(t, 0);
        t->ref->params(sr, g, pr);
        compare(t, "parameters after the update", pd, pr, G, g->n_param, ML_TWIN_GRAD_FACTOR * tol);
        free(pd);
        free(pr);
    }
    double ed[G], er[G];
    side(t, 1);
    t->dev->sample(sd, g, ML_STREAM_EVAL, 0);
    t->dev->forward(sd, g);
    t->dev->mse(sd, g, ed);
    side(t, 0);
    t->ref->sample(sr, g, ML_STREAM_EVAL, 0);
    t->ref->forward(sr, g);
    t->ref->mse(sr, g, er);
    compare_d(t, "eval loss", ed, er, G, tol);
    t->dev->destroy(sd);
    t->ref->destroy(sr);
    ml_group_free(g);
    end(t, name, t->cpu_mode ? 0 : ml_twin_tol(prec, 0));
}

static void train(const selftest *t, int device, const ml_run *const *rp, int G, ml_train_result *res) {
    ml_group *g = ml_group_create(rp, G);
    side(t, device);
    ml_train_group(device ? t->dev : t->ref, g, res, NULL, NULL, NULL);
    side(t, 0);
    ml_group_free(g);
}

/* A few hundred steps through the training loop, one model diverging at
 * step 1: loss curves and final weights within 1e-4 of the CPU, the
 * diverged model frozen at the same step on both, two device runs
 * bit-identical. */
static void case_trajectory(selftest *t, int steps) {
    char name[96];
    snprintf(name, sizeof name, "trajectory %d steps, divergence, determinism", steps);
    begin(t);
    enum { G = 4 };
    ml_run r[G];
    const ml_run *rp[G];
    for (int i = 0; i < G; i++) {
        r[i] = small_run(TASK_DECODER, ACT_RELU, OPT_LAMB, PREC_FP32, 64, 16, 64, 64);
        r[i].steps = steps, r[i].seed = 40 + i, r[i].lr = 0.003f * (i + 1), r[i].decay = 0.01f * i;
        r[i].log_every = 1;
        rp[i] = &r[i];
    }
    r[2].lr = 1e38f; /* the first update overflows: the loss of step 1 is not finite */
    r[2].decay = 0;
    ml_train_result c, d1, d2;
    train(t, 0, rp, G, &c);
    train(t, 1, rp, G, &d1);
    train(t, 1, rp, G, &d2);
    const size_t np = (size_t)64 * 16 + 64 + 64 * 64;
    if (memcmp(d1.params, d2.params, sizeof(float) * G * np) || memcmp(d1.log_loss, d2.log_loss, sizeof(float) * G * d1.n_log))
        snprintf(t->why, sizeof t->why, "two runs on the device differ (not deterministic)");
    if (!t->why[0] && (c.diverged[2] != 1 || d1.diverged[2] != 1))
        snprintf(t->why, sizeof t->why, "the diverging model froze at step %ld on the device, %ld on the CPU (1 expected)",
                 d1.diverged[2], c.diverged[2]);
    const double tol = t->cpu_mode ? 0 : 1e-4;
    for (int i = 0; i < G && !t->why[0]; i++) {
        if (i == 2) continue;
        if (d1.diverged[i] != -1) snprintf(t->why, sizeof t->why, "model %d diverged on the device only", i);
        float *curve_d = ml_malloc(sizeof(float) * d1.n_log), *curve_c = ml_malloc(sizeof(float) * c.n_log);
        for (int s = 0; s < c.n_log; s++) curve_d[s] = d1.log_loss[s * G + i], curve_c[s] = c.log_loss[s * G + i];
        char what[48];
        snprintf(what, sizeof what, "loss curve of model %d", i);
        compare(t, what, curve_d, curve_c, 1, (size_t)c.n_log, tol);
        snprintf(what, sizeof what, "final weights of model %d", i);
        compare(t, what, d1.params + i * np, c.params + i * np, 1, np, tol);
        free(curve_d);
        free(curve_c);
    }
    ml_train_result_free(&c);
    ml_train_result_free(&d1);
    ml_train_result_free(&d2);
    end(t, name, tol);
}

/* A model alone and as member 3 of a group of 7: bit-identical, unless
 * the variant batches the group's GEMMs (then within 1e-6). */
static void case_invariance(selftest *t, int steps) {
    begin(t);
    enum { G = 7, ME = 3 };
    ml_run r[G];
    const ml_run *rp[G];
    for (int i = 0; i < G; i++) {
        r[i] = small_run(TASK_DECODER, ACT_RELU, OPT_LAMB, PREC_FP32, 63, 15, 41, 64); /* n_param odd */
        r[i].steps = steps, r[i].seed = 100 + i, r[i].lr = 0.002f * (i + 1), r[i].log_every = 1;
        rp[i] = &r[i];
    }
    ml_train_result alone, group;
    train(t, 1, rp + ME, 1, &alone);
    train(t, 1, rp, G, &group);
    const size_t np = (size_t)41 * 15 + 41 + 63 * 41;
    const char *v = getenv("MONOLAB_KERNELS");
    const int batched = v && (strstr(v, "batched") || !strcmp(v, "fast"));
    compare(t, "a model alone vs in a group", group.params + ME * np, alone.params, 1, np, batched ? 1e-6 : 0);
    ml_train_result_free(&alone);
    ml_train_result_free(&group);
    end(t, "group invariance (alone vs member 3 of 7)", batched ? 1e-6 : 0);
}

/* A layer of clustered rows: every neuron's selection identical on both
 * backends (the canonical rule), and its partition. */
static void case_embed(selftest *t, int T, int n) {
    char name[96];
    snprintf(name, sizeof name, "embed selection and partitions, %d neurons", n);
    begin(t);
    ml_layer L;
    memset(&L, 0, sizeof L);
    L.T = T, L.d = 16, L.n = n, L.act = ACT_RELU;
    L.pre = ml_malloc(sizeof(float) * T * L.d);
    L.W = ml_malloc(sizeof(float) * L.d * n);
    L.b = ml_malloc(sizeof(float) * n);
    uint64_t q = 0; /* multiples of 1/8: every product and sum exact in any order */
    for (int r = 0; r < T; r++)
        for (int c = 0; c < L.d; c++)
            L.pre[r * L.d + c] = (float)(nearbyint(((c % 5 == r % 5) ? 1.5 : 0) * 8 + 2.4 * ml_normal(7, 3, q++)) / 8);
    for (int i = 0; i < L.d * n; i++) L.W[i] = (float)(nearbyint(8 * ml_normal(7, 4, q++)) / 8);
    for (int j = 0; j < n; j++) L.b[j] = 0;
    ml_embed_opts o = ml_embed_opts_default();
    ml_selection *sd = calloc(n, sizeof *sd), *sr = calloc(n, sizeof *sr);
    ml_neuron_result *rd = calloc(n, sizeof *rd), *rr = calloc(n, sizeof *rr);
    double t1, t2;
    side(t, 1);
    t->dev->embed(&L, &o, sd, rd, &t1, &t2);
    side(t, 0);
    t->ref->embed(&L, &o, sr, rr, &t1, &t2);
    int clustered = 0;
    for (int j = 0; j < n && !t->why[0]; j++) {
        if (sd[j].n != sr[j].n || memcmp(sd[j].row, sr[j].row, sizeof(int64_t) * sr[j].n))
            snprintf(t->why, sizeof t->why, "neuron %d: the device selected other examples (%d vs %d)", j, sd[j].n, sr[j].n);
        else if (rd[j].n_clusters != rr[j].n_clusters || memcmp(rd[j].labels, rr[j].labels, sizeof(int) * sr[j].n))
            snprintf(t->why, sizeof t->why, "neuron %d: another partition (%d vs %d clusters)", j, rd[j].n_clusters,
                     rr[j].n_clusters);
        clustered += sr[j].n >= 2;
    }
    if (!t->why[0] && clustered < n / 4)
        snprintf(t->why, sizeof t->why, "only %d of %d neurons had examples to cluster: the case checks too little",
                 clustered, n);
    for (int j = 0; j < n; j++) {
        free(sd[j].example), free(sd[j].row), free(sd[j].act), free(rd[j].labels), free(rd[j].Z);
        free(sr[j].example), free(sr[j].row), free(sr[j].act), free(rr[j].labels), free(rr[j].Z);
    }
    free(sd), free(sr), free(rd), free(rr);
    free(L.pre), free(L.W), free(L.b);
    end(t, name, 0);
}

/* Similar clusters of C rows in groups of three, entries +-1 (d = 16): every
 * similarity a multiple of 1/16, exact in any order, and full of ties, so
 * the device's lists must be the CPU's bit for bit, tie order included. */
static void case_similar(selftest *t, int64_t C, int k) {
    char name[96];
    snprintf(name, sizeof name, "similar clusters, %lld rows, top %d", (long long)C, k);
    begin(t);
    const int d = 16;
    float *E = ml_malloc(sizeof(float) * (size_t)C * d);
    int *group = ml_malloc(sizeof(int) * (size_t)C);
    for (int64_t i = 0; i < C; i++) {
        group[i] = (int)(i / 3);
        for (int c = 0; c < d; c++) E[i * d + c] = ml_draw(11, 5, 0, (uint64_t)(i * d + c)).v[0] & 1 ? 1.0f : -1.0f;
    }
    size_t n = (size_t)C * k;
    int64_t *id = ml_malloc(sizeof(int64_t) * n), *ir = ml_malloc(sizeof(int64_t) * n);
    float *sd = ml_malloc(sizeof(float) * n), *sr = ml_malloc(sizeof(float) * n);
    side(t, 1);
    t->dev->similar_topk(E, C, d, group, k, id, sd);
    side(t, 0);
    t->ref->similar_topk(E, C, d, group, k, ir, sr);
    for (size_t i = 0; i < n && !t->why[0]; i++)
        if (id[i] != ir[i] || memcmp(&sd[i], &sr[i], sizeof(float)))
            snprintf(t->why, sizeof t->why, "row %lld, place %lld: cluster %lld (%.4f) where the CPU has %lld (%.4f)",
                     (long long)(i / k), (long long)(i % k), (long long)id[i], sd[i], (long long)ir[i], sr[i]);
    free(E), free(group), free(id), free(ir), free(sd), free(sr);
    end(t, name, 0);
}

/* ------------------------------------------------------------ the command */
static void run_cases(selftest *t) {
    case_ops(t, TASK_DECODER, ACT_RELU, OPT_LAMB, PREC_FP32, 48, 12, 40, 32);
    case_ops(t, TASK_REPROJECTOR, ACT_GELU, OPT_ADAM, PREC_FP32, 48, 12, 40, 32);
    case_ops(t, TASK_ABS, ACT_SOLU, OPT_ADAMW, PREC_FP32, 48, 12, 40, 32);
    case_ops(t, TASK_DECODER, ACT_RELU, OPT_LAMB, PREC_TF32, 48, 12, 40, 32);
    if (t->full) {
        case_ops(t, TASK_DECODER, ACT_GELU, OPT_LAMB, PREC_FP32, 300, 20, 64, 600); /* B, out > 256: the loops */
        case_ops(t, TASK_DECODER, ACT_RELU, OPT_ADAMW, PREC_FP32, 4500, 16, 32, 16); /* several sample tiles */
        setenv("MONOLAB_GRID_CAP", "1", 1); /* one block per grid-stride launch: the wrap-around */
        case_ops(t, TASK_ABS, ACT_RELU, OPT_ADAMW, PREC_FP32, 96, 12, 130, 64);
        unsetenv("MONOLAB_GRID_CAP");
    }
    case_trajectory(t, t->full ? 300 : 100);
    case_invariance(t, t->full ? 60 : 20);
    case_embed(t, t->full ? 6000 : 1500, t->full ? 300 : 48);
    case_similar(t, t->full ? 5000 : 600, 20); /* full: two column tiles */
}

static const char *USAGE =
    "usage: monolab selftest [--device cuda|cpu] [--quick|--full] [--cached]\n"
    "\n"
    "Checks a device against the CPU twin through the backend interface: sampling,\n"
    "forward, backward and the optimiser step for every task, activation and\n"
    "optimiser, a trajectory with a diverging model, determinism, group invariance\n"
    "and embed's selections and partitions, with the GPU tests' tolerances. One\n"
    "line per case, then a summary. For --device cuda (the default) the verdict is\n"
    "recorded in the user's cache folder ($XDG_CACHE_HOME/monolab or\n"
    "~/.cache/monolab), and `--device auto` uses the GPU only under a passing\n"
    "record for this build, GPU, driver and kernel variant set. --device cpu checks\n"
    "the CPU backend against itself on one thread (bit-identity).\n"
    "--quick (default) takes the kernel variants MONOLAB_KERNELS selects now, at\n"
    "small sizes; --full takes every variant and larger cases. --cached prints the\n"
    "recorded verdict instead when there is one (the Slurm scripts use it, so each\n"
    "GPU is checked once). Exit 0 on pass, 1 on a failed case.\n";

static const char *const FULL_VARIANTS[] = {"ref", "fast", "gather,fused,batched", "lt", "lt,batched,graph"};

int ml_selftest_main(int argc, char **argv) {
    static const ml_cli_opt OPTS[] = {
        {"--device", NULL, 1}, {"--quick", NULL, 0}, {"--full", NULL, 0}, {"--cached", NULL, 0}, {NULL}};
    ml_cli c = {"selftest", USAGE, OPTS, argc, argv, 0};
    const char *device = "cuda";
    int full = 0, cached = 0;
    char *v;
    for (int o; (o = ml_cli_next(&c, &v)) != ML_CLI_END;) {
        if (o == 0) device = v;
        else if (o == 1) full = 0;
        else if (o == 2) full = 1;
        else if (o == 3) cached = 1;
        else ml_cli_usage_die("selftest", "unexpected argument", v);
    }
    selftest t = {0};
    t.ref = &ml_backend_cpu;
    t.full = full;
    char reason[256] = "";
    ml_stamp_key key;
    if (!strcmp(device, "cpu")) {
        t.dev = &ml_backend_cpu;
        t.cpu_mode = 1;
        snprintf(reason, sizeof reason, "the CPU backend on 1 thread against %d threads", omp_get_max_threads());
    } else if (!strcmp(device, "cuda")) {
        t.dev = ml_backend_cuda_get(reason, sizeof reason);
        if (!t.dev || !ml_stamp_key_now(&key)) ml_die("selftest --device cuda: %s", reason);
        char date[40], summary[700];
        ml_stamp_state s = cached ? ml_stamp_read(&key, date, sizeof date, summary, sizeof summary) : ML_STAMP_NONE;
        if (s != ML_STAMP_NONE) { /* --cached: the recorded verdict of this build, GPU, driver and kernels */
            printf("selftest %s (recorded %s for %s): %s\n", s == ML_STAMP_PASS ? "passed" : "failed", date, reason,
                   summary);
            return s == ML_STAMP_PASS ? 0 : 1;
        }
    } else {
        ml_cli_usage_die("selftest", "--device must be cuda or cpu, got", device);
    }
    const char *kernels = getenv("MONOLAB_KERNELS");
    printf("monolab selftest (%s): %s; kernels %s\n", full ? "full" : "quick", reason,
           full ? "ref, fast, gather,fused,batched, lt, lt,batched,graph" : kernels && *kernels ? kernels : "ref");
    fflush(stdout);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!full) run_cases(&t);
    else {
        char *saved = kernels ? strdup(kernels) : NULL;
        for (size_t i = 0; i < sizeof FULL_VARIANTS / sizeof *FULL_VARIANTS; i++) {
            setenv("MONOLAB_KERNELS", FULL_VARIANTS[i], 1);
            printf(" kernels %s\n", FULL_VARIANTS[i]);
            run_cases(&t);
        }
        if (saved) setenv("MONOLAB_KERNELS", saved, 1), free(saved);
        else unsetenv("MONOLAB_KERNELS");
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    const double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    char summary[700];
    if (!t.failed)
        snprintf(summary, sizeof summary, "%d cases passed in %.1f s", t.passed, secs);
    else
        snprintf(summary, sizeof summary, "FAILED %d of %d cases; first: %s", t.failed, t.passed + t.failed,
                 t.first_fail);
    printf("selftest %s: %s\n", t.failed ? "failed" : "passed", summary);
    if (!t.cpu_mode) ml_stamp_write(&key, !t.failed, summary);
    return t.failed ? 1 : 0;
}
