/* Test helper: the HAC of include/monolab/hac.h on full (square) distance
 * matrices, for refdump's comparison with scipy and scikit-learn. The
 * pipeline itself works on condensed vectors. */
#ifndef MONOLAB_TEST_HAC_DENSE_H
#define MONOLAB_TEST_HAC_DENSE_H
#include "monolab/common.h"
#include "monolab/hac.h"
#include <stdlib.h>

/* D: n x n symmetric distances (row-major, diagonal ignored). Z: (n-1) x 4
 * as scipy: [a, b, dist, size]. Labels number flat clusters (merges with
 * distance < threshold) by first appearance. */
static double *condense(const double *D, int n) {
    double *Dc = ml_malloc(sizeof(double) * ((size_t)n * (n - 1) / 2 + 1));
    for (long i = 0; i < n; i++)
        for (long j = i + 1; j < n; j++) Dc[ml_cidx(n, i, j)] = D[i * n + j];
    return Dc;
}

static void ml_hac_average(const double *D, int n, double *Z) {
    double *Dc = condense(D, n);
    int *is = ml_malloc(sizeof(int) * ML_HAC_ISCRATCH(n));
    ml_hac_nnchain(Dc, n, Z, is);
    free(Dc);
    free(is);
}

static int ml_hac_cut(const double *Z, int n, double threshold, int *labels) {
    int *is = ml_malloc(sizeof(int) * ML_HAC_ISCRATCH(n));
    int k = ml_hac_cut_impl(Z, n, threshold, labels, is);
    free(is);
    return k;
}

static void ml_poly_metrics_compute(const double *D, int n, const int *labels, int n_clusters, ml_poly_metrics *o) {
    double *Dc = condense(D, n);
    ml_poly_metrics_impl(Dc, n, labels, n_clusters, o);
    free(Dc);
}

#endif
