/* The CPU twin of `monolab embed`'s compute (kernels/embed_cuda.cu is the
 * CUDA one), reached through ml_backend_cpu.embed: example selection, then
 * embedding and clustering of every neuron.
 *
 * Selection (docs/science.md §2.2): activations a = phi(pre W + b); each
 * neuron keeps the FIRST max_examples examples (in dataset order) whose
 * activation reaches act_frac * its maximum. With doc_index an example is
 * a context: its activation is the max over its tokens and its key token
 * the first argmax. A neuron whose maximum is <= 0 has no qualifying
 * examples. One GEMM per chunk of rows screens the rows; every decision is
 * made on canonical pre-activations (include/monolab/embed_scan.h says why
 * and how), so the selection does not depend on the BLAS or the threads.
 *
 * phi is only evaluated where it can matter. Every supported phi is
 * increasing wherever it is positive and negative elsewhere, so the
 * maximum is phi(max z), and a token can only reach a positive threshold
 * if z clears the least z whose phi does (ml_scan_limits). Tokens below it
 * cannot qualify nor be a qualifying context's argmax, so skipping them
 * changes nothing. Neurons are split across threads in contiguous blocks
 * (rows outer, neurons inner, for cache lines).
 *
 * Embedding and clustering: for each neuron (OpenMP, dynamic), the
 * embeddings e = h ⊙ w_j of its selected examples (or h for pre-mlp), their
 * Gram matrix by ssyrk, condensed cosine distances, then the shared HAC,
 * cut and metric bodies of hac.h (the CUDA twin runs the same ones). */
#include "monolab/common.h"
#include "monolab/embed_cpu.h"
#include "monolab/embed_scan.h"
#include "monolab/hac.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_ROWS 1024
#define NBLOCK 64

/* Advance to the next chunk of rows [*r0, *r1) and put z = pre W (bias
 * added by callers) in A [(r1-r0) x n]. Returns 0 after the last chunk. */
static int next_chunk(const ml_layer *L, int *r0, int *r1, float *A) {
    *r0 = *r1;
    if (*r0 >= L->T) return 0;
    *r1 = *r0 + CHUNK_ROWS < L->T ? *r0 + CHUNK_ROWS : L->T;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, *r1 - *r0, L->n, L->d, 1.0f, L->pre + (size_t)*r0 * L->d,
                L->d, L->W, L->n, 0.0f, A, L->n);
    return 1;
}

/* One line on stderr at most every PROGRESS_S seconds while a pass over the
 * rows runs: a million-token layer takes minutes per pass, which must not
 * be silent. Small inputs finish before the first line is due. */
#define PROGRESS_S 10.0
static void pass_progress(const ml_layer *L, const char *pass, int r1, double t0, double *t_last) {
    double t = ml_now();
    if (t - *t_last < PROGRESS_S) return;
    *t_last = t;
    fprintf(stderr, "[monolab] selection, %s: %d of %d rows (%.0f%%), %.0f s\n", pass, r1, L->T, 100.0 * r1 / L->T,
            t - t0);
}

/* Pass 1: the canonical maximum of z per neuron (embed_scan.h), then phi of it, in mx. */
static void neuron_maxima(const ml_layer *L, const float *Wt, const float *margin, float *A, float *mx, double t0,
                          double *t_last) {
    const int n = L->n, d = L->d, nblk = (n + NBLOCK - 1) / NBLOCK;
    double *mxc = ml_malloc(sizeof(double) * n);
    for (int j = 0; j < n; j++) mx[j] = -INFINITY, mxc[j] = -INFINITY;
    for (int r0 = 0, r1 = 0; next_chunk(L, &r0, &r1, A);) {
#pragma omp parallel for schedule(static)
        for (int q = 0; q < nblk; q++) {
            int j0 = q * NBLOCK, j1 = j0 + NBLOCK < n ? j0 + NBLOCK : n;
            /* the chunk's float maxima first (vectorised); a neuron's rows
               are screened only when its chunk maximum comes within two
               margins of its maximum so far, which soon is rare */
            float cm[NBLOCK];
            for (int j = j0; j < j1; j++) cm[j - j0] = -INFINITY;
            for (int r = 0; r < r1 - r0; r++)
                for (int j = j0; j < j1; j++) { /* not fmaxf: a library call, no vector max */
                    float z = A[(size_t)r * n + j] + L->b[j];
                    cm[j - j0] = z > cm[j - j0] ? z : cm[j - j0];
                }
            for (int j = j0; j < j1; j++) {
                if (!(cm[j - j0] >= mx[j] - 2 * margin[j])) continue;
                for (int r = 0; r < r1 - r0; r++)
                    ml_max_row(&mx[j], &mxc[j], A[(size_t)r * n + j] + L->b[j], margin[j],
                               L->pre + (size_t)(r0 + r) * d, Wt + (size_t)j * d, d, L->b[j]);
            }
        }
        pass_progress(L, "pass 1 of 2 (maxima)", r1, t0, t_last);
    }
    for (int j = 0; j < n; j++) mx[j] = ml_max_act(L->act, mxc[j]);
    free(mxc);
}

/* Margins, maxima (pass 1, unless the layer brings them), then the
 * examples in order (pass 2). */
static void select_examples(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel) {
    const double t0 = ml_now();
    double t_last = t0;
    const int n = L->n, d = L->d, cap = o->max_examples, nblk = (n + NBLOCK - 1) / NBLOCK;
    float *A = ml_malloc(sizeof(float) * (size_t)CHUNK_ROWS * n);
    float *mx = ml_malloc(sizeof(float) * n), *margin = ml_malloc(sizeof(float) * n);
    float *Wt = ml_layer_w_columns(L); /* for the canonical pre-activations */
    ml_embed_margins(L, margin);
    if (L->max_act) memcpy(mx, L->max_act, sizeof(float) * n);
    else neuron_maxima(L, Wt, margin, A, mx, t0, &t_last);
    ml_open_ex *cur = ml_malloc(sizeof(ml_open_ex) * n);
    ml_sel_slots *slot = ml_malloc(sizeof(ml_sel_slots) * n);
    ml_scan_neuron *nq = ml_malloc(sizeof(ml_scan_neuron) * n);
    for (int j = 0; j < n; j++) {
        sel[j].n = 0;
        sel[j].example = ml_malloc(sizeof(int64_t) * cap);
        sel[j].row = ml_malloc(sizeof(int64_t) * cap);
        sel[j].act = ml_malloc(sizeof(float) * cap);
        slot[j] = (ml_sel_slots){&sel[j].n, sel[j].example, sel[j].row, sel[j].act};
        cur[j] = (ml_open_ex){-INFINITY, -1, -1};
        nq[j].w = Wt + (size_t)j * d;
        nq[j].b = L->b[j];
        ml_scan_limits(mx[j], o->act_frac, L->act, margin[j], &nq[j].thr, &nq[j].bound);
    }
    /* pass 2: walk the examples in order */
    for (int r0 = 0, r1 = 0; next_chunk(L, &r0, &r1, A);) {
#pragma omp parallel for schedule(static)
        for (int q = 0; q < nblk; q++) {
            int j0 = q * NBLOCK, j1 = j0 + NBLOCK < n ? j0 + NBLOCK : n;
            for (int r = r0; r < r1; r++) {
                int64_t ex = L->doc ? L->doc[r] : r;
                const float *z = A + (size_t)(r - r0) * n, *p = L->pre + (size_t)r * d;
                for (int j = j0; j < j1; j++)
                    ml_scan_row(&cur[j], ex, r, z[j] + L->b[j], p, d, L->act, &nq[j], cap, slot[j]);
            }
        }
        pass_progress(L, L->max_act ? "one pass (examples)" : "pass 2 of 2 (examples)", r1, t0, &t_last);
    }
    for (int j = 0; j < n; j++) ml_scan_close(&cur[j], nq[j].thr, cap, slot[j]);
    free(A); free(mx); free(margin); free(Wt); free(cur); free(slot); free(nq);
}

/* Shared with the similar-clusters stage (src/embed_similar.c), which
 * re-embeds each cluster's central example. */
static void embed_cluster(const ml_layer *L, const ml_embed_opts *o, const ml_selection *sel, ml_neuron_result *res) {
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

void ml_embed_cpu(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                  double *t_select, double *t_cluster) {
    double t0 = ml_now();
    select_examples(L, o, sel);
    *t_select = ml_now() - t0;
    t0 = ml_now();
    embed_cluster(L, o, sel, res);
    *t_cluster = ml_now() - t0;
}
