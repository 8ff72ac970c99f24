/* CPU backend of embed + cluster: for each neuron (OpenMP, dynamic), the
 * embeddings e = h ⊙ w_j of its selected examples (or h for pre-mlp), their
 * Gram matrix by ssyrk, condensed cosine distances, then the shared HAC,
 * cut and metric bodies of hac_impl.h (the CUDA twin runs the same ones). */
#include "monolab/common.h"
#include "monolab/embed.h"
#include "monolab/hac_impl.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

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

void ml_embed_cluster_cpu(const ml_layer *L, const ml_embed_opts *o, const ml_selection *sel, ml_neuron_result *res) {
    const int d = L->d, cap = o->max_examples;
    const size_t nc = (size_t)cap * (cap - 1) / 2 + 1;
#pragma omp parallel
    {
        float *E = ml_malloc(sizeof(float) * (size_t)cap * d);
        float *G = ml_malloc(sizeof(float) * (size_t)cap * cap);
        double *Dc = ml_malloc(sizeof(double) * nc), *Dw = ml_malloc(sizeof(double) * nc);
        double *nrm = ml_malloc(sizeof(double) * cap);
        int *is = ml_malloc(sizeof(int) * ML_HAC_ISCRATCH(cap));
#pragma omp for schedule(dynamic, 16)
        for (int j = 0; j < L->n; j++) {
            const ml_selection *s = &sel[j];
            ml_neuron_result *r = &res[j];
            int n = s->n;
            r->labels = ml_calloc((size_t)(n ? n : 1), sizeof(int));
            r->Z = ml_calloc((size_t)(n > 1 ? n - 1 : 1) * 4, sizeof(double));
            ml_embed_rows(L, o->pre_mlp, j, s->row, n, E);
            if (n > 0) cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0f, E, d, 0.0f, G, n);
            for (int a = 0; a < n; a++) nrm[a] = sqrt(fmax((double)G[(size_t)a * n + a], 0.0));
            for (int a = 0; a < n; a++)
                for (int b = a + 1; b < n; b++) Dc[ml_cidx(n, a, b)] = ml_cos_dist(G[(size_t)a * n + b], nrm[a], nrm[b]);
            /* the chain overwrites its distances; the metrics need the originals */
            memcpy(Dw, Dc, sizeof(double) * (size_t)n * (n > 0 ? n - 1 : 0) / 2);
            ml_hac_nnchain(Dw, n, r->Z, is);
            int k = ml_hac_cut_impl(r->Z, n, o->threshold, r->labels, is);
            ml_poly_metrics pm;
            ml_poly_metrics_impl(Dc, n, r->labels, k, &pm);
            r->n_clusters = pm.n_clusters;
            r->max_dist = pm.max_dist;
            r->mean_dist = pm.mean_dist;
            r->mean_intra = pm.mean_intra;
            r->mean_inter = pm.mean_inter;
        }
        free(E); free(G); free(Dc); free(Dw); free(nrm); free(is);
    }
}
