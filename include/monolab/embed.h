/* The data of `monolab embed` (docs/science.md §2, §3): the options, a layer in
 * memory, each neuron's selected examples and clustering results, and the
 * two twins that compute them, reached through ml_backend.embed. */
#ifndef MONOLAB_EMBED_H
#define MONOLAB_EMBED_H
#include "monolab/vocab.h"
#include <stdint.h>

typedef struct {
    double act_frac;   /* threshold = act_frac * max_act (0.75) */
    int max_examples;  /* first qualifying examples kept (100) */
    double threshold;  /* HAC distance threshold (0.5) */
    int pre_mlp;       /* embed h alone instead of h * w_j */
    int samples;       /* toy checkpoints: inputs drawn */
    uint64_t seed;     /* toy checkpoints: key of the input stream */
    int seed_set;
    double feat_frac;  /* toy: true feature when S >= feat_frac * max (0.1) */
    int similar;       /* similar clusters kept per cluster (20; 0: none) */
    ml_probe probe;    /* toy checkpoints: which inputs are probed (training) */
} ml_embed_opts;

/* A layer in memory, whatever the input file was. */
typedef struct {
    int T, d, n;        /* rows, input dim, neurons */
    float *pre;         /* [T][d] */
    float *W;           /* [d][n] */
    float *b;           /* [n] (zeros if absent) */
    float *max_act;     /* [n] or NULL */
    int64_t *doc;       /* [T] context of each row, or NULL: each row its own example */
    ml_act act;         /* any of them, ACT_NONE and ACT_GELU_NEW included */
    int *true_features; /* [n] toy checkpoints only, else NULL */
    /* Toy checkpoints only, else 0/NULL: the ground truth of docs/science.md §3. */
    int N;               /* features */
    float *toy_V;        /* [T][N] the features behind each probe input */
    float *toy_S;        /* [n][N] single-feature activations */
    int *input_features; /* [n] input-based truth, filled after selection */
    char desc[256];
} ml_layer;

/* Selected examples of one neuron, in dataset order. */
typedef struct {
    int n;
    int64_t *example; /* doc id (or row) */
    int64_t *row;     /* key token row */
    float *act;
} ml_selection;

/* Per neuron results of clustering. */
typedef struct {
    int n_clusters;
    double max_dist, mean_dist, mean_intra, mean_inter;
    int *labels;  /* [n examples] */
    double *Z;    /* [(n-1) x 4] */
} ml_neuron_result;

/* The twins behind ml_backend.embed: docs/science.md §2.2 selection for every neuron
 * (sel[n] filled), then embedding, HAC and the §2.4 metrics (res[n]
 * filled), with the two stages' times (file reading excluded). The CPU
 * twin is src/embed_cpu.c; the CUDA one, kernels/embed_cuda.cu, is linked
 * only in CUDA builds and reached only through ml_backend_cuda_get(). */
/* Embeddings of neuron j at the given rows into E [n][d]: h ⊙ w_j, or h
 * for pre-mlp (docs/science.md §2.1). */
void ml_embed_rows(const ml_layer *L, int pre_mlp, int j, const int64_t *rows, int n, float *E);

void ml_embed_cpu(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                  double *t_select, double *t_cluster);
void ml_embed_cuda(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                   double *t_select, double *t_cluster);

#endif
