/* Loading the layer to embed: an activation file (docs/architecture.md
 * "File contracts") or a toy-model checkpoint, whose inputs are sampled as in
 * training or from a sparser probe distribution (docs/science.md §3).
 * Every shape is checked against the others. */
#include "monolab/checkpoint.h"
#include "monolab/common.h"
#include "monolab/elementwise.h"
#include "monolab/embed_layer.h"
#include "monolab/model_init.h"
#include "monolab/mem_budget.h"
#include "monolab/safetensors.h"
#include "monolab/toy_probe.h"
#include "monolab/toy_truth.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void load_toy(ml_layer *L, const ml_st_file *f, const ml_embed_opts *o) {
    ml_checkpoint c;
    ml_checkpoint_read(&c, f);
    const ml_run *r = &c.run;
    int N = r->N, m = r->m, k = r->k;
    L->T = o->samples;
    L->d = m;
    L->n = k;
    L->act = r->act;
    uint64_t seed = o->seed_set ? o->seed : r->seed;
    L->N = N;
    snprintf(L->run_id, sizeof L->run_id, "%s", r->id);
    /* the probe inputs v and x = P v, one row per sample */
    ml_mem_check("embed --samples", 4.0 * L->T * (N + m), NULL, "use fewer --samples");
    L->toy_V = ml_malloc(sizeof(float) * (size_t)L->T * N); /* kept for the input-based truth */
    L->pre = ml_malloc(sizeof(float) * (size_t)L->T * m);
    ml_probe_inputs(&c, seed, o->probe, L->T, L->toy_V, L->pre); /* x = P v */
    L->W = ml_malloc(sizeof(float) * (size_t)m * k); /* W_in = W1ᵀ: column j is neuron j's weights */
    for (int j = 0; j < k; j++)
        for (int c2 = 0; c2 < m; c2++) L->W[(size_t)c2 * k + j] = c.W1[(size_t)j * m + c2];
    L->b = ml_malloc(sizeof(float) * k);
    memcpy(L->b, c.b1, sizeof(float) * k);
    /* weight-based truth: features that drive neuron j to >= feat_frac of its max */
    L->toy_S = ml_malloc(sizeof(float) * (size_t)k * N);
    ml_checkpoint_sfa(&c, L->toy_S);
    L->true_features = ml_calloc((size_t)k, sizeof(int));
    ml_feature_counts(L->toy_S, k, N, o->feat_frac, L->true_features);
    snprintf(L->desc, sizeof L->desc, "toy %s %s: N=%d m=%d k=%d, %d %s probe inputs", r->id, ml_task_name(r->task), N,
             m, k, L->T, ml_probe_name(o->probe));
    ml_checkpoint_free(&c);
}

static void load_activations(ml_layer *L, const ml_st_file *f) {
    const char *path = f->path;
    const ml_st_entry *pre = ml_st_find(f, "pre_mlp"), *W = ml_st_find(f, "W_in");
    if (!pre) ml_die("%s: tensor 'pre_mlp' is missing (an activation file needs pre_mlp [T, d] and W_in [d, n])", path);
    if (!W) ml_die("%s: tensor 'W_in' is missing (an activation file needs pre_mlp [T, d] and W_in [d, n])", path);
    if (pre->ndim != 2) ml_die("%s: tensor 'pre_mlp' must be 2-D [T, d], has %d dimensions", path, pre->ndim);
    if (W->ndim != 2) ml_die("%s: tensor 'W_in' must be 2-D [d, n], has %d dimensions", path, W->ndim);
    if (W->shape[0] != pre->shape[1])
        ml_die("%s: tensor 'W_in' has %lld rows but pre_mlp has d = %lld", path, (long long)W->shape[0],
               (long long)pre->shape[1]);
    if (pre->shape[0] < 1 || pre->shape[1] < 1 || W->shape[1] < 1 || pre->shape[0] > INT32_MAX || W->shape[1] > INT32_MAX)
        ml_die("%s: tensor 'pre_mlp' or 'W_in' has an empty or too large dimension", path);
    L->T = (int)pre->shape[0];
    L->d = (int)pre->shape[1];
    L->n = (int)W->shape[1];
    int64_t s_pre[2] = {L->T, L->d}, s_w[2] = {L->d, L->n}, s_n[1] = {L->n};
    L->pre = ml_st_get_f32(f, "pre_mlp", 2, s_pre, 0);
    L->W = ml_st_get_f32(f, "W_in", 2, s_w, 0);
    L->b = ml_st_get_f32(f, "b_in", 1, s_n, 1);
    if (!L->b) L->b = ml_calloc((size_t)L->n, sizeof(float));
    L->max_act = ml_st_get_f32(f, "max_act", 1, s_n, 1);
    /* a NaN or inf would make selection silently skip a neuron or decide every row the slow way */
    const char *names[] = {"pre_mlp", "W_in", "b_in", "max_act"};
    const float *arrays[] = {L->pre, L->W, L->b, L->max_act};
    const size_t sizes[] = {(size_t)L->T * L->d, (size_t)L->d * L->n, (size_t)L->n, (size_t)L->n};
    for (int a = 0; a < 4; a++)
        for (size_t i = 0; arrays[a] && i < sizes[a]; i++)
            if (!isfinite(arrays[a][i]))
                ml_die("%s: tensor '%s' holds a non-finite value (%g at flat index %zu)", path, names[a],
                       (double)arrays[a][i], i);
    const ml_st_entry *di = ml_st_find(f, "doc_index");
    if (di) {
        if (di->dtype != ML_ST_I64 && di->dtype != ML_ST_I32)
            ml_die("%s: tensor 'doc_index' must be I64 or I32", path);
        if (di->ndim != 1 || di->shape[0] != L->T)
            ml_die("%s: tensor 'doc_index' must have shape [%d] like pre_mlp's rows", path, L->T);
        L->doc = ml_malloc(sizeof(int64_t) * L->T);
        for (int t = 0; t < L->T; t++) {
            L->doc[t] = ml_st_int_at(f, di, (size_t)t);
            if (t && L->doc[t] < L->doc[t - 1])
                ml_die("%s: tensor 'doc_index' must be non-decreasing (row %d goes back to document %lld)", path, t,
                       (long long)L->doc[t]);
        }
    }
    const ml_st_entry *tok = ml_st_find(f, "token_ids");
    if (tok && (tok->ndim != 1 || tok->shape[0] != L->T))
        ml_die("%s: tensor 'token_ids' must have shape [%d] like pre_mlp's rows", path, L->T);
    const char *a = ml_st_meta(f, "activation");
    L->act = ACT_NONE;
    if (a) {
        int i = ml_enum_parse(ML_LAYER_ACT_NAMES, a); /* index = ml_act + 1 */
        if (i >= 0) L->act = (ml_act)(i - 1);
        else ml_die("%s: metadata 'activation' must be none, relu, gelu, gelu_new or solu, got '%s'", path, a);
    }
    const char *model = ml_st_meta(f, "model"), *layer = ml_st_meta(f, "layer");
    snprintf(L->desc, sizeof L->desc, "%s layer %s: T=%d d=%d n=%d", model ? model : "activations", layer ? layer : "?",
             L->T, L->d, L->n);
}

void ml_layer_load(ml_layer *L, const char *path, const ml_embed_opts *o) {
    memset(L, 0, sizeof *L);
    ml_st_file f;
    ml_st_open(&f, path);
    if (ml_st_find(&f, "W1") && ml_st_find(&f, "P")) load_toy(L, &f, o);
    else if (o->probe != PROBE_TRAINING)
        ml_die("%s: --probe %s needs a toy checkpoint (W1 and P); an activation file brings its own inputs", path,
               ml_probe_name(o->probe));
    else load_activations(L, &f);
    ml_st_close(&f);
}

void ml_layer_free(ml_layer *L) {
    free(L->pre); free(L->W); free(L->b); free(L->max_act); free(L->doc); free(L->true_features);
    free(L->toy_V); free(L->toy_S); free(L->input_features);
    memset(L, 0, sizeof *L);
}

/* Blocked by 64 x 64 so that both sides stay in cache. */
float *ml_layer_w_columns(const ml_layer *L) {
    const int d = L->d, n = L->n;
    const float *W = L->W;
    float *Wt = ml_malloc(sizeof(float) * (size_t)d * n);
#pragma omp parallel for schedule(static)
    for (int j0 = 0; j0 < n; j0 += 64)
        for (int c0 = 0; c0 < d; c0 += 64)
            for (int c = c0; c < d && c < c0 + 64; c++)
                for (int j = j0; j < n && j < j0 + 64; j++) Wt[(size_t)j * d + c] = W[(size_t)c * n + j];
    return Wt;
}

void ml_embed_rows(const ml_layer *L, int pre_mlp, int j, const int64_t *rows, int n, float *E) {
    const int d = L->d;
    for (int a = 0; a < n; a++) {
        const float *h = L->pre + (size_t)rows[a] * d;
        float *e = E + (size_t)a * d;
        if (pre_mlp)
            for (int c = 0; c < d; c++) e[c] = h[c];
        else
            for (int c = 0; c < d; c++) e[c] = h[c] * L->W[(size_t)c * L->n + j];
    }
}
