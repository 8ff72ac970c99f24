/* CPU backend of SAE groups: OpenMP over the models of the group, each
 * model's step serial with single-threaded OpenBLAS. Every number of a
 * model is produced by the same operations in the same order whatever G
 * or the thread count is, so an SAE trained alone and inside a group is
 * bit-identical (tests/test_sae_group.c). */
#include "monolab/sae_adam.h"
#include "monolab/common.h"
#include "monolab/sae.h"
#include "monolab/sae_ln.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

extern void openblas_set_num_threads(int);

typedef struct {
    float *params, *grads, *m1, *m2; /* [n_param] */
    float *X, *Xc, *Xh;              /* [B][d]: batch, batch - b_dec, reconstruction then its gradient */
    float *A, *dA;                   /* [B][n]: activations, then gradient of the pre-activations */
    float *hbar;                     /* [n][d] */
    unsigned char *hset;             /* [n] */
    ml_sae_terms terms;
} sae_model;

typedef struct {
    ml_sae_layout lay;
    int G;
    sae_model *m; /* [G] */
} sae_state;

static void *cpu_create(const ml_sae_group *g, const float *init) {
    openblas_set_num_threads(1);
    sae_state *s = ml_calloc(1, sizeof *s);
    s->lay = ml_sae_layout_of(g->d, g->n);
    s->G = g->G;
    const size_t np = s->lay.n_param, Bd = (size_t)g->B * g->d, Bn = (size_t)g->B * g->n;
    s->m = ml_calloc((size_t)g->G, sizeof(sae_model));
    for (int gi = 0; gi < g->G; gi++) {
        sae_model *m = &s->m[gi];
        m->params = ml_malloc(sizeof(float) * np);
        memcpy(m->params, init + (size_t)gi * np, sizeof(float) * np);
        m->grads = ml_calloc(np, sizeof(float));
        m->m1 = ml_calloc(np, sizeof(float));
        m->m2 = ml_calloc(np, sizeof(float));
        m->X = ml_calloc(Bd, sizeof(float));
        m->Xc = ml_calloc(Bd, sizeof(float));
        m->Xh = ml_calloc(Bd, sizeof(float));
        m->A = ml_calloc(Bn, sizeof(float));
        m->dA = ml_calloc(Bn, sizeof(float));
        m->hbar = ml_calloc((size_t)g->n * g->d, sizeof(float));
        m->hset = ml_calloc((size_t)g->n, 1);
    }
    return s;
}

static void cpu_destroy(void *st) {
    sae_state *s = st;
    if (!s) return;
    for (int gi = 0; gi < s->G; gi++) {
        sae_model *m = &s->m[gi];
        free(m->params); free(m->grads); free(m->m1); free(m->m2);
        free(m->X); free(m->Xc); free(m->Xh); free(m->A); free(m->dA);
        free(m->hbar); free(m->hset);
    }
    free(s->m);
    free(s);
}

/* One model's step: forward, loss, gradients (with L_N when on), h̄, Adam,
 * decoder renormalisation. */
static void model_step(sae_model *m, const ml_sae_layout *lay, const ml_sae_group *g, int gi, const float *data,
                       const int *rows, long step) {
    const int B = g->B, d = g->d, n = g->n;
    float *P = m->params, *G = m->grads;
    float *W_enc = P + lay->W_enc, *b_enc = P + lay->b_enc, *W_dec = P + lay->W_dec, *b_dec = P + lay->b_dec;
    for (int b = 0; b < B; b++) {
        const float *x = data + (size_t)rows[b] * d;
        memcpy(m->X + (size_t)b * d, x, sizeof(float) * d);
        for (int c = 0; c < d; c++) m->Xc[(size_t)b * d + c] = x[c] - b_dec[c];
    }
    /* a = relu(Xc W_enc + b_enc) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, n, d, 1.0f, m->Xc, d, W_enc, n, 0.0f, m->A, n);
    for (size_t e = 0; e < (size_t)B * n; e++) {
        float z = m->A[e] + b_enc[e % n];
        m->A[e] = z > 0.0f ? z : 0.0f;
    }
    /* x̂ = a W_dec + b_dec; then Xh holds dL/dx̂ = 2 (x̂ - x) / (B d) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, d, n, 1.0f, m->A, n, W_dec, d, 0.0f, m->Xh, d);
    double se = 0, l1 = 0;
    const float mse_scale = 2.0f / ((float)B * (float)d);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < d; c++) {
            size_t e = (size_t)b * d + c;
            float r = m->Xh[e] + b_dec[c] - m->X[e];
            se += (double)r * r;
            m->Xh[e] = mse_scale * r;
        }
    for (size_t e = 0; e < (size_t)B * n; e++) l1 += m->A[e];
    /* gradients of the decoder */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, d, B, 1.0f, m->A, n, m->Xh, d, 0.0f, G + lay->W_dec, d);
    /* dz = (dx̂ W_decᵀ + λ1/B) * [a > 0]  (|a| = a where a > 0) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, n, d, 1.0f, m->Xh, d, W_dec, d, 0.0f, m->dA, n);
    const float reg = g->l1[gi] / (float)B;
    for (size_t e = 0; e < (size_t)B * n; e++) m->dA[e] = m->A[e] > 0.0f ? m->dA[e] + reg : 0.0f;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, n, B, 1.0f, m->Xc, d, m->dA, n, 0.0f, G + lay->W_enc, n);
    float *gb_enc = G + lay->b_enc, *gb_dec = G + lay->b_dec;
    for (int j = 0; j < n; j++) gb_enc[j] = 0.0f;
    for (int c = 0; c < d; c++) gb_dec[c] = 0.0f;
    for (int b = 0; b < B; b++) {
        for (int j = 0; j < n; j++) gb_enc[j] += m->dA[(size_t)b * n + j];
        for (int c = 0; c < d; c++) gb_dec[c] += m->Xh[(size_t)b * d + c];
    }
    /* b_dec also enters through x - b_dec: subtract W_enc · Σ_b dz */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, d, n, -1.0f, W_enc, n, gb_enc, 1, 1.0f, gb_dec, 1);
    double ln = 0;
    if (step >= g->ln_start && g->ln[gi] != 0.0f)
        ln = ml_sae_ln_grad(d, n, B, m->X, m->A, W_enc, m->hbar, m->hset, g->ln[gi], G + lay->W_enc);
    ml_sae_hbar_update(d, n, B, m->X, m->A, m->hbar, m->hset);
    m->terms.mse = se / ((double)B * d);
    m->terms.l1 = l1 / B;
    m->terms.ln = ln;
    m->terms.loss = m->terms.mse + g->l1[gi] * m->terms.l1 + g->ln[gi] * ln;
    ml_adam_step(P, G, m->m1, m->m2, (long)lay->n_param, g->lr, step + 1);
    ml_sae_normalize_dec(W_dec, n, d);
}

static void cpu_step(void *st, const ml_sae_group *g, const float *data, const int *rows, long step) {
    sae_state *s = st;
#pragma omp parallel for schedule(dynamic, 1)
    for (int gi = 0; gi < g->G; gi++) model_step(&s->m[gi], &s->lay, g, gi, data, rows + (size_t)gi * g->B, step);
}

static void cpu_terms(void *st, const ml_sae_group *g, ml_sae_terms *out) {
    sae_state *s = st;
    for (int gi = 0; gi < g->G; gi++) out[gi] = s->m[gi].terms;
}

static void cpu_params(void *st, const ml_sae_group *g, float *out) {
    sae_state *s = st;
    for (int gi = 0; gi < g->G; gi++)
        memcpy(out + (size_t)gi * s->lay.n_param, s->m[gi].params, sizeof(float) * s->lay.n_param);
}

static void cpu_peek(void *st, const ml_sae_group *g, const char *name, float *out) {
    sae_state *s = st;
    const size_t nd = (size_t)g->n * g->d;
    for (int gi = 0; gi < g->G; gi++) {
        const sae_model *m = &s->m[gi];
        if (!strcmp(name, "grads")) memcpy(out + gi * s->lay.n_param, m->grads, sizeof(float) * s->lay.n_param);
        else if (!strcmp(name, "hbar")) memcpy(out + gi * nd, m->hbar, sizeof(float) * nd);
        else if (!strcmp(name, "hset"))
            for (int j = 0; j < g->n; j++) out[(size_t)gi * g->n + j] = m->hset[j];
        else ml_fatal("sae peek: no buffer '%s'", name);
    }
}

const ml_sae_backend ml_sae_cpu = {
    .name = "cpu",
    .create = cpu_create,
    .destroy = cpu_destroy,
    .step = cpu_step,
    .terms = cpu_terms,
    .params = cpu_params,
    .peek = cpu_peek,
};
