/* Cluster summaries and similar clusters (see embed_similar.h).
 *
 * The central example of a cluster is the member with the highest mean
 * cosine similarity to the other members (the first such member on ties;
 * a single member is its own). Similarities come from the same Gram matrix
 * and cosine rule (hac.h) as the clustering, so "similarity" here is
 * exactly 1 - the distance HAC saw.
 *
 * Similar clusters: at GPT-2 scale there are ~1e5 clusters, so the C x C
 * similarity matrix (40 GB) is never formed. Rows are normalised once, then
 * for each block of rows one sgemm per block of columns gives a tile of
 * similarities that is folded into a running top-k per row and dropped.
 * This is a plain function of host arrays, and its twin on the CUDA
 * backend (kernels/embed_similar_cuda.cu) has the same signature: the
 * backend's similar_topk member picks one. */
#include "monolab/embed_similar.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/hac.h"
#include "monolab/safetensors.h"
#include "monolab/topk.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROW_BLOCK 512
#define COL_BLOCK 4096

/* Central member and mean intra distance of each cluster of one neuron,
 * from its Gram matrix G [n][n] (upper triangle) and norms. */
static void neuron_clusters(const float *G, const double *nrm, int n, const int *labels, int k, int *central,
                            int *size, double *mean_intra, double *score) {
    for (int c = 0; c < k; c++) { size[c] = 0; central[c] = -1; mean_intra[c] = 0; }
    for (int a = 0; a < n; a++) { size[labels[a]]++; score[a] = 0; }
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            if (labels[a] != labels[b]) continue;
            double dist = ml_cos_dist(G[(size_t)a * n + b], nrm[a], nrm[b]);
            score[a] += 1 - dist;
            score[b] += 1 - dist;
            mean_intra[labels[a]] += dist;
        }
    for (int c = 0; c < k; c++) {
        double pairs = 0.5 * size[c] * (size[c] - 1.0);
        mean_intra[c] = pairs > 0 ? mean_intra[c] / pairs : NAN;
    }
    /* the sums share a denominator within a cluster, so the largest sum is the largest mean */
    for (int a = 0; a < n; a++) {
        int c = labels[a];
        if (central[c] < 0 || score[a] > score[central[c]]) central[c] = a;
    }
}

void ml_clusters_summarise(const ml_layer *L, const ml_embed_opts *o, const ml_selection *sel,
                           const ml_neuron_result *res, ml_cluster_table *t) {
    memset(t, 0, sizeof *t);
    const int d = L->d, cap = o->max_examples;
    int64_t *first = ml_malloc(sizeof(int64_t) * ((size_t)L->n + 1)); /* first cluster row of each neuron */
    first[0] = 0;
    for (int j = 0; j < L->n; j++) first[j + 1] = first[j] + (sel[j].n > 0 ? res[j].n_clusters : 0);
    int64_t C = t->C = first[L->n];
    t->d = d;
    size_t c1 = C ? (size_t)C : 1;
    t->neuron = ml_malloc(sizeof(int) * c1);
    t->cluster = ml_malloc(sizeof(int) * c1);
    t->size = ml_malloc(sizeof(int) * c1);
    t->central = ml_malloc(sizeof(int) * c1);
    t->mean_intra = ml_malloc(sizeof(double) * c1);
    t->emb = ml_malloc(sizeof(float) * c1 * d);
#pragma omp parallel
    {
        float *E = ml_malloc(sizeof(float) * (size_t)cap * d), *G = ml_malloc(sizeof(float) * (size_t)cap * cap);
        double *nrm = ml_malloc(sizeof(double) * cap), *score = ml_malloc(sizeof(double) * cap);
#pragma omp for schedule(dynamic, 16)
        for (int j = 0; j < L->n; j++) {
            int n = sel[j].n;
            if (n == 0) continue;
            int64_t f = first[j];
            ml_embed_rows(L, o->pre_mlp, j, sel[j].row, n, E);
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0f, E, d, 0.0f, G, n);
            for (int a = 0; a < n; a++) nrm[a] = sqrt(fmax((double)G[(size_t)a * n + a], 0.0));
            neuron_clusters(G, nrm, n, res[j].labels, res[j].n_clusters, t->central + f, t->size + f,
                            t->mean_intra + f, score);
            for (int c = 0; c < res[j].n_clusters; c++) {
                t->neuron[f + c] = j;
                t->cluster[f + c] = c;
                memcpy(t->emb + (size_t)(f + c) * d, E + (size_t)t->central[f + c] * d, sizeof(float) * d);
            }
        }
        free(E); free(G); free(nrm); free(score);
    }
    free(first);
}

/* U [C][d]: E's rows scaled to unit length (norms summed in double). */
static void unit_rows(const float *E, int64_t C, int d, float *U) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < C; i++) {
        double s = 0;
        for (int c = 0; c < d; c++) s += (double)E[i * d + c] * E[i * d + c];
        float inv = s > 0 ? (float)(1 / sqrt(s)) : 0.0f; /* a zero row stays zero: similarity 0 */
        for (int c = 0; c < d; c++) U[i * d + c] = E[i * d + c] * inv;
    }
}

float *ml_similar_begin(const float *E, int64_t C, int d, int k, int64_t *idx, float *sim) {
    for (int64_t i = 0; i < C * k; i++) { idx[i] = -1; sim[i] = NAN; }
    if (C == 0 || k == 0) return NULL;
    float *U = ml_malloc(sizeof(float) * (size_t)C * d);
    unit_rows(E, C, d, U);
    return U;
}

void ml_similar_topk(const float *E, int64_t C, int d, const int *group, int k, int64_t *idx, float *sim) {
    float *U = ml_similar_begin(E, C, d, k, idx, sim);
    if (!U) return;
    float *S = ml_malloc(sizeof(float) * ROW_BLOCK * COL_BLOCK);
    int *cnt = ml_calloc(ROW_BLOCK, sizeof(int));
    for (int64_t r0 = 0; r0 < C; r0 += ROW_BLOCK) {
        int nr = (int)(C - r0 < ROW_BLOCK ? C - r0 : ROW_BLOCK);
        memset(cnt, 0, sizeof(int) * ROW_BLOCK);
        for (int64_t c0 = 0; c0 < C; c0 += COL_BLOCK) {
            int nc = (int)(C - c0 < COL_BLOCK ? C - c0 : COL_BLOCK);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, nc, d, 1.0f, U + r0 * d, d, U + c0 * d, d, 0.0f,
                        S, nc);
#pragma omp parallel for schedule(static)
            for (int r = 0; r < nr; r++) {
                int64_t i = r0 + r;
                const float *row = S + (size_t)r * nc;
                for (int c = 0; c < nc; c++)
                    if (group[c0 + c] != group[i]) ml_topk_push(sim + i * k, idx + i * k, &cnt[r], k, row[c], c0 + c);
            }
        }
    }
    free(U); free(S); free(cnt);
}

/* `input` (as given, made absolute) and the toy sampling keys go in the
 * metadata: `monolab explore` finds the tokens or features from them. */
static void clusters_write(const char *outdir, const ml_cluster_table *t, const ml_selection *sel, const char *input,
                           const char *samples, const char *seed) {
    char path[ML_PATH_MAX];
    ml_atomic_file f;
    snprintf(path, sizeof path, "%s/clusters.csv", outdir);
    ml_atomic_open(&f, path);
    ml_atomic_printf(&f, "id,neuron,cluster,size,mean_intra,central_example,central_token\n");
    for (int64_t i = 0; i < t->C; i++) {
        const ml_selection *s = &sel[t->neuron[i]];
        ml_atomic_printf(&f, "%lld,%d,%d,%d,%.9g,%lld,%lld\n", (long long)i, t->neuron[i], t->cluster[i], t->size[i],
                         t->mean_intra[i], (long long)s->example[t->central[i]], (long long)s->row[t->central[i]]);
    }
    ml_atomic_commit(&f);
    char kk[16];
    snprintf(kk, sizeof kk, "%d", t->k);
    const char *meta[] = {"format", "row i is cluster id i of clusters.csv; similar_id -1 marks an empty slot", "k", kk,
                          "input", input, "samples", samples, "seed", seed};
    int64_t C = t->C;
    ml_st_tensor ts[3] = {{"similar_id", ML_ST_I64, 2, {C, t->k}, t->sim_idx},
                          {"similarity", ML_ST_F32, 2, {C, t->k}, t->sim},
                          {"central_embedding", ML_ST_F32, 2, {C, t->d}, t->emb}};
    snprintf(path, sizeof path, "%s/similar.safetensors", outdir);
    ml_st_write(path, 3, ts, 5, meta);
}

void ml_embed_clusters_stage(const ml_backend *be, const char *outdir, const char *input, const ml_layer *L,
                             const ml_embed_opts *o, const ml_selection *sel, const ml_neuron_result *res) {
    double t0 = ml_now();
    ml_cluster_table t;
    ml_clusters_summarise(L, o, sel, res, &t);
    t.k = o->similar;
    if (t.k) /* C^2 d multiply-adds: minutes on a CPU at GPT-2 scale, so say so before starting */
        fprintf(stderr, "[monolab] similar clusters: %lld clusters, %.1f TFLOP on the %s backend (--similar 0 skips this)\n",
                (long long)t.C, 2e-12 * (double)t.C * (double)t.C * t.d, be->name);
    t.sim_idx = ml_malloc(sizeof(int64_t) * (size_t)(t.C * t.k + 1));
    t.sim = ml_malloc(sizeof(float) * (size_t)(t.C * t.k + 1));
    be->similar_topk(t.emb, t.C, t.d, t.neuron, t.k, t.sim_idx, t.sim);
    char *abs = realpath(input, NULL), samples[32], seed[32];
    snprintf(samples, sizeof samples, "%d", L->T);
    if (o->seed_set) snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    else snprintf(seed, sizeof seed, "checkpoint");
    clusters_write(outdir, &t, sel, abs ? abs : input, samples, seed);
    fprintf(stderr, "[monolab] %lld clusters: central examples and %d similar clusters each in %.2f s\n",
            (long long)t.C, t.k, ml_now() - t0);
    free(abs);
    ml_clusters_free(&t);
}

void ml_clusters_free(ml_cluster_table *t) {
    free(t->neuron); free(t->cluster); free(t->size); free(t->central); free(t->mean_intra); free(t->emb);
    free(t->sim_idx); free(t->sim);
    memset(t, 0, sizeof *t);
}
