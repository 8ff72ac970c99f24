/* Average-linkage hierarchical agglomerative clustering (SPEC §2.3).
 *
 * The linkage follows scipy.cluster.hierarchy.linkage(method='average')
 * step for step (nearest-neighbour chain, fastcluster's x < y convention,
 * a stable sort by distance, union-find relabelling), so that the linkage
 * matrix, including the order in which exact ties are merged, is scipy's.
 * scikit-learn's AgglomerativeClustering(linkage='average',
 * metric='precomputed') builds its tree with that same scipy call, so the
 * cut at a threshold equals sklearn's partition. The bodies live in
 * hac_impl.h, shared with the CUDA kernels; these are host conveniences. */
#ifndef MONOLAB_HAC_H
#define MONOLAB_HAC_H

typedef struct {
    int n_clusters;
    double max_dist, mean_dist, mean_intra, mean_inter;
} ml_poly_metrics;

/* D: n x n symmetric distances (row-major, diagonal ignored).
 * Z: (n-1) x 4 as scipy: [a, b, dist, size]. */
void ml_hac_average(const double *D, int n, double *Z);

/* Flat clusters from merges with distance < threshold. labels[i] in
 * 0..k-1, numbered by first appearance; returns k. */
int ml_hac_cut(const double *Z, int n, double threshold, int *labels);

/* SPEC §2.4 over all pairs a < b (NaN where there are no such pairs). */
void ml_poly_metrics_compute(const double *D, int n, const int *labels, int n_clusters, ml_poly_metrics *out);

#endif
