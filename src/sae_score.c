/* Scoring one SAE as in Foote 2024's Table 2: reconstruction, sparsity,
 * spliced-in accuracy, dead latents, and neuron-embedding polysemanticity
 * from the embed pipeline (selection, embeddings, HAC) run on the layer
 * pre_mlp = the MLP's hidden activations, W_in = the SAE encoder. */
#include "monolab/sae_train.h"
#include "monolab/backend.h"
#include "monolab/common.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The one call into the embed pipeline, so a rename there is a one-line
 * change here. */
static void embed_layer(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res) {
    double t_select, t_cluster;
    ml_backend_cpu.embed(L, o, sel, res, &t_select, &t_cluster);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    if (n == 0) return NAN;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void polysemanticity(const float *X, int T, int d, int n, const float *W_enc, const float *b_enc,
                            const float *b_dec, const ml_embed_opts *eo, ml_sae_score *s) {
    ml_layer L = {0};
    L.T = T;
    L.d = d;
    L.n = n;
    L.pre = (float *)X;
    L.W = (float *)W_enc;
    /* x W_enc + (b_enc - b_dec W_enc) = (x - b_dec) W_enc + b_enc */
    L.b = ml_malloc(sizeof(float) * n);
    memcpy(L.b, b_enc, sizeof(float) * n);
    cblas_sgemv(CblasRowMajor, CblasTrans, d, n, -1.0f, W_enc, n, b_dec, 1, 1.0f, L.b, 1);
    L.act = 0; /* ReLU, ml_act_fwd's code */
    snprintf(L.desc, sizeof L.desc, "SAE encoder (%d latents)", n);
    ml_selection *sel = ml_calloc((size_t)n, sizeof *sel);
    ml_neuron_result *res = ml_calloc((size_t)n, sizeof *res);
    embed_layer(&L, eo, sel, res);
    double *mx = ml_malloc(sizeof(double) * n), *mn = ml_malloc(sizeof(double) * n);
    int k = 0;
    for (int j = 0; j < n; j++) {
        if (sel[j].n >= 2) {
            mx[k] = res[j].max_dist;
            mn[k] = res[j].mean_dist;
            k++;
        }
        free(sel[j].example); free(sel[j].row); free(sel[j].act);
        free(res[j].labels); free(res[j].Z);
    }
    s->scored = k;
    s->med_max_dist = median(mx, k);
    s->med_mean_dist = median(mn, k);
    free(mx); free(mn); free(sel); free(res); free(L.b);
}

void ml_sae_score_one(const ml_mlp *mlp, const float *X, const int *y, int T, double base_acc, int n,
                      const float *params, const ml_embed_opts *eo, ml_sae_score *s) {
    const int d = mlp->hidden;
    const ml_sae_layout lay = ml_sae_layout_of(d, n);
    const float *W_enc = params + lay.W_enc, *b_enc = params + lay.b_enc, *W_dec = params + lay.W_dec,
                *b_dec = params + lay.b_dec;
    enum { CH = 1024 };
    float *Xc = ml_malloc(sizeof(float) * CH * d), *A = ml_malloc(sizeof(float) * CH * n);
    float *Xh = ml_malloc(sizeof(float) * (size_t)T * d);
    unsigned char *alive = ml_calloc((size_t)n, 1);
    double se = 0, l1 = 0;
    long active = 0;
    for (int r0 = 0; r0 < T; r0 += CH) {
        int nr = T - r0 < CH ? T - r0 : CH;
        for (int r = 0; r < nr; r++)
            for (int c = 0; c < d; c++) Xc[(size_t)r * d + c] = X[(size_t)(r0 + r) * d + c] - b_dec[c];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, n, d, 1.0f, Xc, d, W_enc, n, 0.0f, A, n);
        for (int r = 0; r < nr; r++)
            for (int j = 0; j < n; j++) {
                float z = A[(size_t)r * n + j] + b_enc[j];
                float a = z > 0.0f ? z : 0.0f;
                A[(size_t)r * n + j] = a;
                l1 += a;
                if (a > 0.0f) { active++; alive[j] = 1; }
            }
        float *xh = Xh + (size_t)r0 * d;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, d, n, 1.0f, A, n, W_dec, d, 0.0f, xh, d);
        for (int r = 0; r < nr; r++)
            for (int c = 0; c < d; c++) {
                float v = xh[(size_t)r * d + c] + b_dec[c];
                xh[(size_t)r * d + c] = v;
                double e = (double)v - X[(size_t)(r0 + r) * d + c];
                se += e * e;
            }
    }
    int dead = 0;
    for (int j = 0; j < n; j++) dead += !alive[j];
    s->mse = se / ((double)T * d);
    s->l1 = l1 / T;
    s->l0 = (double)active / ((double)T * n);
    s->dead = (double)dead / n;
    s->acc = ml_mlp_accuracy(mlp, Xh, y, T);
    s->acc_drop = base_acc - s->acc;
    polysemanticity(X, T, d, n, W_enc, b_enc, b_dec, eo, s);
    free(Xc); free(A); free(Xh); free(alive);
}
