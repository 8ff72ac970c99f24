/* Toy-model checkpoints, ckpt/RUN_ID/step_NNNNNN.safetensors: the writer
 * that `monolab sweep` calls and the reader behind analyze and embed. */
#include "monolab/checkpoint.h"
#include "monolab/common.h"
#include "monolab/elementwise.h"
#include "monolab/fsutil.h"
#include "monolab/model_init.h"
#include "monolab/safetensors.h"
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *need(const ml_st_file *f, const char *key) {
    const char *v = ml_st_meta(f, key);
    if (!v) ml_die("%s: metadata key '%s' is missing (not a monolab checkpoint?)", f->path, key);
    return v;
}

static int pick(const ml_st_file *f, const char *key, const char *const *names) {
    const char *v = need(f, key);
    int i = ml_enum_parse(names, v);
    if (i >= 0) return i;
    ml_die("%s: metadata '%s' has unknown value '%s'", f->path, key, v);
}

void ml_checkpoint_load(ml_checkpoint *c, const char *path) {
    ml_st_file f;
    ml_st_open(&f, path);
    ml_checkpoint_read(c, &f);
    ml_st_close(&f);
}

void ml_checkpoint_read(ml_checkpoint *c, const ml_st_file *f) {
    const char *path = f->path;
    memset(c, 0, sizeof *c);
    ml_run *r = &c->run;
    r->task = (ml_task)pick(f, "task", ML_TASK_NAMES);
    r->act = (ml_act)pick(f, "activation", ML_ACT_NAMES);
    r->sampling = (ml_sampling)pick(f, "sampling", ML_SAMPLING_NAMES);
    r->eps = atof(need(f, "eps"));
    r->seed = strtoull(need(f, "seed"), NULL, 10);
    const char *id = ml_st_meta(f, "run_id");
    snprintf(r->id, sizeof r->id, "%s", id ? id : "checkpoint");
    const ml_st_entry *w1 = ml_st_find(f, "W1");
    if (!w1 || w1->ndim != 2) ml_die("%s: tensor 'W1' must exist with shape [k, m]", path);
    r->k = (int)w1->shape[0];
    r->m = (int)w1->shape[1];
    const ml_st_entry *P = ml_st_find(f, "P");
    if (!P || P->ndim != 2) ml_die("%s: tensor 'P' must exist with shape [m, N]", path);
    r->N = (int)P->shape[1];
    if (!(r->eps > 0 && r->eps <= 1)) ml_die("%s: metadata 'eps' must be in (0, 1]", path);
    c->out = ml_run_out_dim(r);
    int64_t s_w1[2] = {r->k, r->m}, s_b1[1] = {r->k}, s_w2[2] = {c->out, r->k}, s_p[2] = {r->m, r->N};
    c->W1 = ml_st_get_f32(f, "W1", 2, s_w1, 0);
    c->b1 = ml_st_get_f32(f, "b1", 1, s_b1, 0);
    c->W2 = ml_st_get_f32(f, "W2", 2, s_w2, 0);
    c->P = ml_st_get_f32(f, "P", 2, s_p, 0);
}

void ml_checkpoint_free(ml_checkpoint *c) {
    free(c->W1);
    free(c->b1);
    free(c->W2);
    free(c->P);
    memset(c, 0, sizeof *c);
}

void ml_checkpoint_sfa(const ml_checkpoint *c, float *S) {
    const ml_run *r = &c->run;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r->k, r->N, r->m, 1.0f, c->W1, r->m, c->P, r->N, 0.0f, S,
                r->N);
    for (int j = 0; j < r->k; j++)
        for (int i = 0; i < r->N; i++) S[(size_t)j * r->N + i] = ml_act_fwd((int)r->act, S[(size_t)j * r->N + i] + c->b1[j]);
}

void ml_checkpoint_inputs(const ml_checkpoint *c, uint64_t seed, int B, float *V, float *X) {
    const ml_run *r = &c->run;
    const int N = r->N, m = r->m;
    float *p = ml_malloc(sizeof(float) * N);
    ml_feature_probs(r, p);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < N; i++)
            V[(size_t)b * N + i] = ml_sample_feature(seed, ML_STREAM_PROBE, 0, (uint64_t)b, N, i, p[i], r->task == TASK_ABS);
    /* X = V Pᵀ, P being m x N */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, m, N, 1.0f, V, N, c->P, N, 0.0f, X, m);
    free(p);
}

/* run_id, step and the run's fields (config.h's ML_RUN_FIELDS) as strings. */
static int run_metadata(const ml_run *r, long done, char store[][64], const char **kv) {
    int n = 0, used = 0;
    kv[2 * n] = "run_id";
    kv[2 * n++ + 1] = r->id;
    snprintf(store[used], 64, "%ld", done);
    kv[2 * n] = "step";
    kv[2 * n++ + 1] = store[used++];
    for (int i = 0; i < ML_N_RUN_FIELDS; i++)
        if (ML_RUN_FIELDS[i].where & ML_RF_META) {
            ml_run_field_format(r, &ML_RUN_FIELDS[i], store[used], 64);
            kv[2 * n] = ML_RUN_FIELDS[i].name;
            kv[2 * n++ + 1] = store[used++];
        }
    return n;
}

void ml_checkpoint_write(const char *outdir, const ml_group *g, int gi, long done, const float *p) {
    const ml_run *r = g->runs[gi];
    char dir[4096], path[ML_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/ckpt/%s", outdir, r->id);
    ml_mkdirs(dir);
    snprintf(path, sizeof path, "%s/step_%06ld.safetensors", dir, done);
    /* P is stored m x N (docs/science.md §1.2); we hold its transpose. */
    float *P = ml_malloc(sizeof(float) * (size_t)g->N * g->m);
    float *Q = g->Qt ? ml_malloc(sizeof(float) * (size_t)g->N * g->m) : NULL;
    for (int i = 0; i < g->N; i++)
        for (int c = 0; c < g->m; c++) {
            P[(size_t)c * g->N + i] = g->Pt[((size_t)gi * g->N + i) * g->m + c];
            if (Q) Q[(size_t)c * g->N + i] = g->Qt[((size_t)gi * g->N + i) * g->m + c];
        }
    ml_st_tensor t[5] = {
        {"W1", ML_ST_F32, 2, {g->k, g->m}, p + g->off_W1},
        {"b1", ML_ST_F32, 1, {g->k}, p + g->off_b1},
        {"W2", ML_ST_F32, 2, {g->out, g->k}, p + g->off_W2},
        {"P", ML_ST_F32, 2, {g->m, g->N}, P},
        {"Q", ML_ST_F32, 2, {g->m, g->N}, Q},
    };
    char store[ML_N_RUN_FIELDS + 1][64];
    const char *kv[2 * (ML_N_RUN_FIELDS + 2)];
    int n_meta = run_metadata(r, done, store, kv);
    ml_st_write(path, Q ? 5 : 4, t, n_meta, kv);
    free(P);
    free(Q);
}
