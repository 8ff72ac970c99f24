/* Average-linkage hierarchical agglomerative clustering (docs/science.md §2.3).
 *
 * The linkage follows scipy.cluster.hierarchy.linkage(method='average')
 * step for step (nearest-neighbour chain, fastcluster's x < y convention,
 * a stable sort by distance, union-find relabelling), so that the linkage
 * matrix, including the order in which exact ties are merged, is scipy's.
 * scikit-learn's AgglomerativeClustering(linkage='average',
 * metric='precomputed') builds its tree with that same scipy call, so the
 * cut at a threshold equals sklearn's partition.
 *
 * The bodies are written once for the host (src/embed_cpu.c) and the device
 * (kernels/embed_cuda.cu). They work on a condensed distance vector (upper
 * triangle, row by row, as scipy's) and take all scratch from the caller:
 * no allocation, so they run inside a kernel with the distances in shared
 * memory. */
#ifndef MONOLAB_HAC_H
#define MONOLAB_HAC_H
#include "monolab/philox.h" /* ML_HD */
#include <math.h>

/* The polysemanticity metrics of one neuron (docs/science.md §2.4). */
typedef struct {
    int n_clusters;
    double max_dist, mean_dist, mean_intra, mean_inter;
} ml_poly_metrics;

/* Index of (i, j), i != j, in the condensed vector of n points. */
ML_HD long ml_cidx(long n, long i, long j) {
    if (i > j) { long t = i; i = j; j = t; }
    return n * i - (i * (i + 1)) / 2 + (j - i - 1);
}

ML_HD int ml_uf_find(int *parent, int x) {
    int r = x;
    while (parent[r] != r) r = parent[r];
    while (parent[x] != r) { int nx = parent[x]; parent[x] = r; x = nx; }
    return r;
}

/* scipy's nn_chain for average linkage, then its stable sort by distance
 * and union-find relabelling. Dc (n(n-1)/2) is overwritten; iscratch holds
 * ML_HAC_ISCRATCH(n) ints; Z gets (n-1) x 4. */
#define ML_HAC_ISCRATCH(n) (6 * (n) + 2)
ML_HD void ml_hac_nnchain(double *Dc, int n, double *Z, int *iscratch) {
    if (n < 2) return;
    int *size = iscratch, *chain = iscratch + n;
    for (int i = 0; i < n; i++) size[i] = 1;
    int chain_len = 0;
    for (int k = 0; k < n - 1; k++) {
        if (chain_len == 0) {
            for (int i = 0; i < n; i++)
                if (size[i] > 0) { chain[0] = i; break; }
            chain_len = 1;
        }
        int x, y = 0;
        double cur;
        for (;;) {
            x = chain[chain_len - 1];
            /* prefer the previous element of the chain on ties (no cycles) */
            if (chain_len > 1) {
                y = chain[chain_len - 2];
                cur = Dc[ml_cidx(n, x, y)];
            } else {
                cur = INFINITY;
            }
            for (int i = 0; i < n; i++) {
                if (size[i] == 0 || i == x) continue;
                double d = Dc[ml_cidx(n, x, i)];
                if (d < cur) { cur = d; y = i; }
            }
            if (chain_len > 1 && y == chain[chain_len - 2]) break;
            chain[chain_len++] = y;
        }
        chain_len -= 2;
        if (x > y) { int t = x; x = y; y = t; } /* fastcluster's convention */
        int nx = size[x], ny = size[y];
        Z[4 * k + 0] = x;
        Z[4 * k + 1] = y;
        Z[4 * k + 2] = cur;
        Z[4 * k + 3] = nx + ny;
        size[x] = 0;
        size[y] = nx + ny;
        for (int i = 0; i < n; i++) {
            if (size[i] == 0 || i == y) continue;
            Dc[ml_cidx(n, i, y)] = (nx * Dc[ml_cidx(n, i, x)] + ny * Dc[ml_cidx(n, i, y)]) / (nx + ny);
        }
    }
    /* stable sort by distance (numpy's mergesort), by insertion: n is small */
    for (int i = 1; i < n - 1; i++) {
        double r0 = Z[4 * i], r1 = Z[4 * i + 1], r2 = Z[4 * i + 2], r3 = Z[4 * i + 3];
        int j = i;
        while (j > 0 && Z[4 * (j - 1) + 2] > r2) {
            for (int c = 0; c < 4; c++) Z[4 * j + c] = Z[4 * (j - 1) + c];
            j--;
        }
        Z[4 * j] = r0; Z[4 * j + 1] = r1; Z[4 * j + 2] = r2; Z[4 * j + 3] = r3;
    }
    /* relabel: new clusters are n, n+1, ... in merge order */
    int *parent = iscratch, *usize = iscratch + 2 * n + 1; /* reuses size/chain */
    for (int i = 0; i < 2 * n - 1; i++) { parent[i] = i; usize[i] = 1; }
    for (int i = 0; i < n - 1; i++) {
        int a = ml_uf_find(parent, (int)Z[4 * i]), b = ml_uf_find(parent, (int)Z[4 * i + 1]);
        Z[4 * i] = (double)(a < b ? a : b);
        Z[4 * i + 1] = (double)(a < b ? b : a);
        int nl = n + i;
        parent[a] = parent[b] = nl;
        usize[nl] = usize[a] + usize[b];
        Z[4 * i + 3] = usize[nl];
    }
}

/* Flat clusters from the merges with distance < threshold; labels by first
 * appearance. iscratch: ML_HAC_ISCRATCH(n) ints. Returns the count. */
ML_HD int ml_hac_cut_impl(const double *Z, int n, double threshold, int *labels, int *iscratch) {
    if (n <= 0) return 0;
    int *parent = iscratch, *id = iscratch + 2 * n;
    for (int i = 0; i < 2 * n; i++) { parent[i] = i; id[i] = -1; }
    for (int i = 0; i < n - 1 && Z[4 * i + 2] < threshold; i++) {
        int a = ml_uf_find(parent, (int)Z[4 * i]), b = ml_uf_find(parent, (int)Z[4 * i + 1]);
        parent[a] = parent[b] = n + i;
    }
    int k = 0;
    for (int i = 0; i < n; i++) {
        int r = ml_uf_find(parent, i);
        if (id[r] < 0) id[r] = k++;
        labels[i] = id[r];
    }
    return k;
}

/* docs/science.md §2.4 over all pairs a < b of a condensed vector (NaN: no pairs). */
ML_HD void ml_poly_metrics_impl(const double *Dc, int n, const int *labels, int n_clusters, ml_poly_metrics *o) {
    double mx = -INFINITY, sum = 0, si = 0, so = 0;
    long np = 0, ni = 0, no = 0;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            double d = Dc[ml_cidx(n, a, b)];
            mx = d > mx ? d : mx;
            sum += d;
            np++;
            if (labels[a] == labels[b]) { si += d; ni++; }
            else { so += d; no++; }
        }
    o->n_clusters = n_clusters;
    o->max_dist = np ? mx : NAN;
    o->mean_dist = np ? sum / np : NAN;
    o->mean_intra = ni ? si / ni : NAN;
    o->mean_inter = no ? so / no : NAN;
}

/* Cosine distance from a Gram entry and two norms; a zero-norm embedding is
 * at distance 1 from everything; clamped to [0, 2] against rounding. */
ML_HD double ml_cos_dist(double g, double na, double nb) {
    double d = (na > 0 && nb > 0) ? 1.0 - g / (na * nb) : 1.0;
    return d < 0 ? 0 : d > 2 ? 2 : d;
}

#endif
