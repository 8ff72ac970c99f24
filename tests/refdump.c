/* Test helper: runs pieces of the CPU backend and dumps every tensor to a
 * safetensors file, so tests/test_*.py can compare them with numpy and
 * PyTorch. Not part of the user-facing CLI.
 *   refdump step OUT.safetensors TASK ACT OPT [STEPS]
 *   refdump group OUT.safetensors G STEPS   (a group's batches and losses)
 *   refdump embedder OUT.safetensors SEED N m
 *   refdump schedule T_MAX STEPS            (prints lr factors)
 *   refdump hac IN.safetensors OUT.safetensors (linkage, labels, metrics) */
#include "monolab/backend.h"
#include "monolab/common.h"
#include "hac_dense.h"
#include "monolab/model_init.h"
#include "monolab/philox.h"
#include "monolab/safetensors.h"
#include "monolab/train.h"
#include "test_helpers.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_enum(const char *s, const char *const *names) {
    int i = ml_enum_parse(names, s);
    if (i < 0) ml_die("refdump: unknown value '%s'", s);
    return i;
}

/* The run every step dump uses: test_run's, made smaller and shorter. */
static ml_run small_run(ml_task task, ml_act act, ml_optim opt) {
    ml_run r = test_run(task, act, 24, 6, 20, 16);
    r.optimizer = opt;
    r.seed = 7;
    r.bias_offset = -0.25;
    r.eps = 0.25;
    r.steps = 4;
    r.t_max = 3;
    r.decay = 0.5;
    r.l1 = 0.01;
    r.log_every = 1;
    r.eval_batch = 16;
    return r;
}

static int cmd_step(int argc, char **argv) {
    if (argc < 5) ml_die("usage: refdump step OUT TASK ACT OPT [STEPS]");
    ml_run r = small_run(parse_enum(argv[2], ML_TASK_NAMES), parse_enum(argv[3], ML_ACT_NAMES),
                         parse_enum(argv[4], ML_OPTIM_NAMES));
    int nsteps = argc > 5 ? atoi(argv[5]) : 3;
    const ml_run *rp = &r;
    ml_group *g = ml_group_create(&rp, 1);
    void *st = ml_backend_cpu.create(g);
    size_t np = g->n_param;
    int B = g->B;
    int nt = 3 + 6 * nsteps + 1;
    ml_st_tensor *t = ml_calloc((size_t)nt, sizeof *t);
    char (*names)[32] = ml_calloc((size_t)nt, 32);
    float *bufs = ml_malloc(sizeof(float) * (size_t)nsteps * (np * 2 + (size_t)B * (g->m + g->out) + 1) + 16);
    float *cur = bufs;
    int n = 0;
    t[n++] = (ml_st_tensor){"params0", ML_ST_F32, 1, {(int64_t)np}, g->init_params};
    t[n++] = (ml_st_tensor){"Pt", ML_ST_F32, 2, {g->N, g->m}, g->Pt};
    t[n++] = (ml_st_tensor){"Qt", ML_ST_F32, 2, {g->N, g->m}, g->Qt ? g->Qt : g->Pt};
    for (int s = 0; s < nsteps; s++) {
        double sched = ml_schedule(r.schedule, r.t_max, s);
        ml_backend_cpu.sample(st, g, ML_STREAM_TRAIN, (uint32_t)s);
        ml_backend_cpu.peek(st, g, "X", cur);
        snprintf(names[n], 32, "X%d", s);
        t[n] = (ml_st_tensor){names[n], ML_ST_F32, 2, {B, g->m}, cur}; n++; cur += B * g->m;
        ml_backend_cpu.peek(st, g, "T", cur);
        snprintf(names[n], 32, "T%d", s);
        t[n] = (ml_st_tensor){names[n], ML_ST_F32, 2, {B, g->out}, cur}; n++; cur += B * g->out;
        ml_backend_cpu.forward(st, g);
        ml_backend_cpu.backward(st, g, s);
        double loss;
        ml_backend_cpu.status(st, g, &loss, NULL);
        *cur = (float)loss;
        snprintf(names[n], 32, "loss%d", s);
        t[n] = (ml_st_tensor){names[n], ML_ST_F32, 1, {1}, cur}; n++; cur += 1;
        ml_backend_cpu.peek(st, g, "grads", cur);
        snprintf(names[n], 32, "grad%d", s);
        t[n] = (ml_st_tensor){names[n], ML_ST_F32, 1, {(int64_t)np}, cur}; n++; cur += np;
        ml_backend_cpu.optimize(st, g, s, (float)sched, 2 * s < r.steps);
        ml_backend_cpu.params(st, g, cur);
        snprintf(names[n], 32, "params%d", s + 1);
        t[n] = (ml_st_tensor){names[n], ML_ST_F32, 1, {(int64_t)np}, cur}; n++; cur += np;
    }
    char meta[8][64];
    const char *kv[16] = {"N", meta[0], "m", meta[1], "k", meta[2], "lr", meta[3], "decay", meta[4], "l1", meta[5],
                          "steps", meta[6], "t_max", meta[7]};
    snprintf(meta[0], 64, "%d", r.N);
    snprintf(meta[1], 64, "%d", r.m);
    snprintf(meta[2], 64, "%d", r.k);
    snprintf(meta[3], 64, "%.9g", r.lr);
    snprintf(meta[4], 64, "%.9g", r.decay);
    snprintf(meta[5], 64, "%.9g", r.l1);
    snprintf(meta[6], 64, "%ld", r.steps);
    snprintf(meta[7], 64, "%d", r.t_max);
    ml_st_write(argv[1], n, t, 8, kv);
    ml_backend_cpu.destroy(st);
    ml_group_free(g);
    free(t); free(names); free(bufs);
    return 0;
}

/* A group of G decoders (ReLU, LAMB, cosine schedule, bias decay on for the
 * first half of STEPS) with other seeds, bias offsets and decays, trained
 * together: per step the batch X{s}, T{s} [G][B][*] and the losses loss{s}
 * [G], and params0 / params{STEPS} [G][n_param], for the batched PyTorch
 * peer (tests/test_step_torch_batched.py). */
static int cmd_group(int argc, char **argv) {
    if (argc < 4) ml_die("usage: refdump group OUT G STEPS");
    int G = atoi(argv[2]), nsteps = atoi(argv[3]);
    ml_run *runs = ml_calloc((size_t)G, sizeof *runs);
    const ml_run **rp = ml_calloc((size_t)G, sizeof *rp);
    float *decay = ml_malloc(sizeof(float) * (size_t)G);
    for (int i = 0; i < G; i++) {
        runs[i] = small_run(TASK_DECODER, ACT_RELU, OPT_LAMB);
        runs[i].l1 = 0;
        runs[i].seed = 11 + (uint64_t)i;
        runs[i].bias_offset = i % 2 ? -1.0 : 0.0;
        runs[i].decay = decay[i] = i % 3 ? 0.5f : 0.0f;
        runs[i].steps = 2 * nsteps - 2; /* decay on for steps 0 .. nsteps-2 */
        rp[i] = &runs[i];
    }
    ml_group *g = ml_group_create(rp, G);
    void *st = ml_backend_cpu.create(g);
    size_t np = g->n_param, B = (size_t)g->B, nx = (size_t)G * B * g->m, ny = (size_t)G * B * g->out;
    int nt = 4 + 3 * nsteps;
    ml_st_tensor *t = ml_calloc((size_t)nt, sizeof *t);
    char (*names)[32] = ml_calloc((size_t)nt, 32);
    float *bufs = ml_malloc(sizeof(float) * ((size_t)nsteps * (nx + ny) + (size_t)G * np));
    double *loss = ml_malloc(sizeof(double) * (size_t)G);
    float *lossf = ml_malloc(sizeof(float) * (size_t)nsteps * G), *cur = bufs;
    int n = 0;
    t[n++] = (ml_st_tensor){"params0", ML_ST_F32, 2, {G, (int64_t)np}, g->init_params};
    t[n++] = (ml_st_tensor){"decay", ML_ST_F32, 1, {G}, decay};
    for (int s = 0; s < nsteps; s++) {
        ml_backend_cpu.sample(st, g, ML_STREAM_TRAIN, (uint32_t)s);
        ml_backend_cpu.peek(st, g, "X", cur);
        snprintf(names[n], 32, "X%d", s);
        t[n] = (ml_st_tensor){names[n], ML_ST_F32, 3, {G, (int64_t)B, g->m}, cur}; n++; cur += nx;
        ml_backend_cpu.peek(st, g, "T", cur);
        snprintf(names[n], 32, "T%d", s);
        t[n] = (ml_st_tensor){names[n], ML_ST_F32, 3, {G, (int64_t)B, g->out}, cur}; n++; cur += ny;
        ml_backend_cpu.forward(st, g);
        ml_backend_cpu.backward(st, g, s);
        ml_backend_cpu.status(st, g, loss, NULL);
        for (int i = 0; i < G; i++) lossf[s * G + i] = (float)loss[i];
        snprintf(names[n], 32, "loss%d", s);
        t[n] = (ml_st_tensor){names[n], ML_ST_F32, 1, {G}, lossf + s * G}; n++;
        ml_backend_cpu.optimize(st, g, s, (float)ml_schedule(runs[0].schedule, runs[0].t_max, s),
                                ml_decay_on(s, runs[0].steps));
    }
    ml_backend_cpu.params(st, g, cur);
    t[n++] = (ml_st_tensor){"params_end", ML_ST_F32, 2, {G, (int64_t)np}, cur};
    char meta[6][64];
    const char *kv[12] = {"N", meta[0], "m", meta[1], "k", meta[2], "lr", meta[3], "steps", meta[4], "t_max", meta[5]};
    snprintf(meta[0], 64, "%d", g->N);
    snprintf(meta[1], 64, "%d", g->m);
    snprintf(meta[2], 64, "%d", g->k);
    snprintf(meta[3], 64, "%.9g", runs[0].lr);
    snprintf(meta[4], 64, "%ld", runs[0].steps);
    snprintf(meta[5], 64, "%d", runs[0].t_max);
    ml_st_write(argv[1], n, t, 6, kv);
    ml_backend_cpu.destroy(st);
    ml_group_free(g);
    free(t); free(names); free(bufs); free(loss); free(lossf); free(decay); free(runs); free(rp);
    return 0;
}

static int cmd_embedder(int argc, char **argv) {
    if (argc < 5) ml_die("usage: refdump embedder OUT SEED N m");
    uint64_t seed = strtoull(argv[2], NULL, 10);
    int N = atoi(argv[3]), m = atoi(argv[4]);
    double *G = ml_malloc(sizeof(double) * N * m);
    float *Pt = ml_malloc(sizeof(float) * N * m);
    ml_embedder_gaussian(seed, ML_STREAM_EMBED_P, N, m, G);
    ml_embedder(seed, ML_STREAM_EMBED_P, N, m, Pt);
    ml_st_tensor t[2] = {{"G", ML_ST_F64, 2, {N, m}, G}, {"Pt", ML_ST_F32, 2, {N, m}, Pt}};
    ml_st_write(argv[1], 2, t, 0, NULL);
    free(G); free(Pt);
    return 0;
}

static int cmd_schedule(int argc, char **argv) {
    if (argc < 3) ml_die("usage: refdump schedule T_MAX STEPS");
    int tmax = atoi(argv[1]);
    long steps = atol(argv[2]);
    for (long t = 0; t < steps; t++) printf("%.17g\n", ml_schedule(SCHED_COSINE, tmax, t));
    return 0;
}

/* For every tensor D* (F64 n x n) in IN, with threshold in metadata
 * "t_<name>": the linkage matrix, the labels and the metrics. */
static int cmd_hac(int argc, char **argv) {
    if (argc < 3) ml_die("usage: refdump hac IN OUT");
    ml_st_file f;
    ml_st_open(&f, argv[1]);
    ml_st_tensor *out = ml_calloc((size_t)f.n * 3, sizeof *out);
    char (*names)[64] = ml_calloc((size_t)f.n * 3, 64);
    void **bufs = ml_calloc((size_t)f.n * 3, sizeof(void *));
    int no = 0;
    for (int i = 0; i < f.n; i++) {
        const ml_st_entry *e = &f.t[i];
        int n = (int)e->shape[0];
        char key[80];
        snprintf(key, sizeof key, "t_%s", e->name);
        double t = atof(ml_st_meta(&f, key));
        const double *D = (const double *)(f.data + e->offset);
        double *Z = ml_calloc((size_t)(n > 1 ? n - 1 : 1) * 4, sizeof(double));
        int *lab = ml_malloc(sizeof(int) * n);
        int64_t *lab64 = ml_malloc(sizeof(int64_t) * n);
        double *met = ml_malloc(sizeof(double) * 5);
        ml_hac_average(D, n, Z);
        int k = ml_hac_cut(Z, n, t, lab);
        for (int a = 0; a < n; a++) lab64[a] = lab[a];
        ml_poly_metrics pm;
        ml_poly_metrics_compute(D, n, lab, k, &pm);
        met[0] = pm.n_clusters; met[1] = pm.max_dist; met[2] = pm.mean_dist; met[3] = pm.mean_intra; met[4] = pm.mean_inter;
        snprintf(names[no], 64, "Z_%s", e->name);
        out[no] = (ml_st_tensor){names[no], ML_ST_F64, 2, {n - 1, 4}, Z}; bufs[no++] = Z;
        snprintf(names[no], 64, "L_%s", e->name);
        out[no] = (ml_st_tensor){names[no], ML_ST_I64, 1, {n}, lab64}; bufs[no++] = lab64;
        snprintf(names[no], 64, "M_%s", e->name);
        out[no] = (ml_st_tensor){names[no], ML_ST_F64, 1, {5}, met}; bufs[no++] = met;
        free(lab);
    }
    ml_st_write(argv[2], no, out, 0, NULL);
    for (int i = 0; i < no; i++) free(bufs[i]);
    free(bufs); free(out); free(names);
    ml_st_close(&f);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) ml_die("usage: refdump step|group|embedder|schedule|hac ...");
    if (!strcmp(argv[1], "step")) return cmd_step(argc - 1, argv + 1);
    if (!strcmp(argv[1], "group")) return cmd_group(argc - 1, argv + 1);
    if (!strcmp(argv[1], "embedder")) return cmd_embedder(argc - 1, argv + 1);
    if (!strcmp(argv[1], "schedule")) return cmd_schedule(argc - 1, argv + 1);
    if (!strcmp(argv[1], "hac")) return cmd_hac(argc - 1, argv + 1);
    ml_die("refdump: unknown command '%s'", argv[1]);
}
