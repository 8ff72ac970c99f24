/* The screen's margins for the selection scan (include/monolab/embed_scan.h):
 * how far a float GEMM's pre-activation can be from the canonical one, per
 * neuron. Shared by both embed twins; the GPU one computes them here on the
 * host, where the layer is (O(T d + d n), against the GEMM's O(T d n)). */
#include "monolab/common.h"
#include "monolab/embed_scan.h"
#include <math.h>
#include <stdlib.h>

void ml_embed_margins(const ml_layer *L, float *margin) {
    double pmax = 0;
#pragma omp parallel for schedule(static) reduction(max : pmax)
    for (int r = 0; r < L->T; r++) {
        const float *p = L->pre + (size_t)r * L->d;
        double s = 0;
        for (int c = 0; c < L->d; c++) s += (double)p[c] * p[c];
        if (s > pmax) pmax = s;
    }
    pmax = sqrt(pmax);
    double *w2 = ml_calloc((size_t)L->n, sizeof(double)); /* column norms, row by row for the cache */
#pragma omp parallel for schedule(static)
    for (int j0 = 0; j0 < L->n; j0 += 256)
        for (int c = 0; c < L->d; c++)
            for (int j = j0; j < L->n && j < j0 + 256; j++)
                w2[j] += (double)L->W[(size_t)c * L->n + j] * L->W[(size_t)c * L->n + j];
    for (int j = 0; j < L->n; j++) margin[j] = ml_gemm_margin(L->d, pmax, sqrt(w2[j]), L->b[j]);
    free(w2);
}
