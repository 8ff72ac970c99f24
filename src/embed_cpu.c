/* CPU backend of embed + cluster: for each neuron (OpenMP, dynamic), the
 * embeddings e = h ⊙ w_j of its selected examples (or h for pre-mlp), their
 * Gram matrix by sgemm, cosine distances, average-linkage HAC, the cut at
 * the threshold and the SPEC §2.4 metrics. */
#include "monolab/common.h"
#include "monolab/embed.h"
#include "monolab/hac.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

void ml_embed_cluster_cpu(const ml_layer *L, const ml_embed_opts *o, const ml_selection *sel, ml_neuron_result *res) {
    const int d = L->d, cap = o->max_examples;
#pragma omp parallel
    {
        float *E = ml_malloc(sizeof(float) * (size_t)cap * d);
        float *G = ml_malloc(sizeof(float) * (size_t)cap * cap);
        double *D = ml_malloc(sizeof(double) * (size_t)cap * cap);
        double *nrm = ml_malloc(sizeof(double) * cap);
        double *scratch = ml_malloc(sizeof(double) * ((size_t)cap * cap / 2 + 2 * (size_t)cap + 1));
#pragma omp for schedule(dynamic, 16)
        for (int j = 0; j < L->n; j++) {
            const ml_selection *s = &sel[j];
            ml_neuron_result *r = &res[j];
            int n = s->n;
            r->labels = ml_calloc((size_t)(n ? n : 1), sizeof(int));
            r->Z = ml_calloc((size_t)(n > 1 ? n - 1 : 1) * 4, sizeof(double));
            for (int a = 0; a < n; a++) {
                const float *h = L->pre + (size_t)s->row[a] * d;
                float *e = E + (size_t)a * d;
                if (o->pre_mlp)
                    for (int c = 0; c < d; c++) e[c] = h[c];
                else
                    for (int c = 0; c < d; c++) e[c] = h[c] * L->W[(size_t)c * L->n + j];
            }
            if (n > 0)
                cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0f, E, d, 0.0f, G, n);
            for (int a = 0; a < n; a++) nrm[a] = sqrt(fmax((double)G[(size_t)a * n + a], 0.0));
            for (int a = 0; a < n; a++) {
                D[(size_t)a * n + a] = 0;
                for (int b = a + 1; b < n; b++) {
                    /* a zero-norm embedding is at distance 1 from everything */
                    double dist = 1.0;
                    if (nrm[a] > 0 && nrm[b] > 0) dist = 1.0 - G[(size_t)a * n + b] / (nrm[a] * nrm[b]);
                    dist = dist < 0 ? 0 : dist > 2 ? 2 : dist;
                    D[(size_t)a * n + b] = D[(size_t)b * n + a] = dist;
                }
            }
            ml_hac_average(D, n, r->Z, scratch);
            int k = ml_hac_cut(r->Z, n, o->threshold, r->labels);
            ml_poly_metrics pm;
            ml_poly_metrics_compute(D, n, r->labels, k, &pm);
            r->n_clusters = pm.n_clusters;
            r->max_dist = pm.max_dist;
            r->mean_dist = pm.mean_dist;
            r->mean_intra = pm.mean_intra;
            r->mean_inter = pm.mean_inter;
        }
        free(E); free(G); free(D); free(nrm); free(scratch);
    }
}
