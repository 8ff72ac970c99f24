/* Per-cluster summaries of an embed run and similar clusters across neurons
 * (Foote's "similar features"): every cluster's central example, size and
 * mean intra-cluster distance, and for each cluster the k nearest clusters
 * of other neurons by cosine similarity of their central embeddings. */
#ifndef MONOLAB_EMBED_SIMILAR_H
#define MONOLAB_EMBED_SIMILAR_H
#include "monolab/backend.h"
#include "monolab/embed_layer.h"
#include <stdint.h>

typedef struct {
    int64_t C;          /* clusters over all neurons, neuron-major, cluster label order */
    int d;
    int *neuron;        /* [C] */
    int *cluster;       /* [C] label within its neuron */
    int *size;          /* [C] */
    int *central;       /* [C] index of the central example in its neuron's selection */
    double *mean_intra; /* [C] mean pairwise cosine distance inside the cluster (NaN for one member) */
    float *emb;         /* [C][d] the central examples' embeddings */
    int k;              /* similar clusters per cluster (0: not computed) */
    int64_t *sim_idx;   /* [C][k] cluster index, best first; -1 where fewer exist */
    float *sim;         /* [C][k] their cosine similarity (NaN where sim_idx is -1) */
} ml_cluster_table;

/* Central examples, sizes and mean intra-cluster distances of every
 * cluster of every neuron, from the selection and the cluster labels. */
void ml_clusters_summarise(const ml_layer *L, const ml_embed_opts *o, const ml_selection *sel,
                           const ml_neuron_result *res, ml_cluster_table *t);

/* For each of the C rows of E [C][d], the k rows of highest cosine
 * similarity whose group differs from its own, best first (ties: lower
 * index first). Blocked sgemm over unit rows with a streaming top-k per
 * row, so memory is O(block), not O(C^2). A zero row has similarity 0 to
 * everything. Unfilled slots get idx -1 and sim NaN. */
void ml_similar_topk(const float *E, int64_t C, int d, const int *group, int k, int64_t *idx, float *sim);
/* What both twins of ml_similar_topk start with: every slot empty (idx -1,
 * sim NaN), and U [C][d], E's rows scaled to unit length (norms summed in
 * double; a zero row stays zero), the caller's to free; NULL when there is
 * nothing to search (C or k 0). */
float *ml_similar_begin(const float *E, int64_t C, int d, int k, int64_t *idx, float *sim);

void ml_clusters_free(ml_cluster_table *t);

/* The embed stage: summarise, find the o->similar most similar clusters of
 * each (be's similar_topk: the CPU's ml_similar_topk or its CUDA twin), write clusters.csv and similar.safetensors (whose metadata names
 * INPUT and the sampling keys, so `monolab explore` can find the tokens). */
void ml_embed_clusters_stage(const ml_backend *be, const char *outdir, const char *input, const ml_layer *L,
                             const ml_embed_opts *o, const ml_selection *sel, const ml_neuron_result *res);

#endif
