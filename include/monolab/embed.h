/* `monolab embed`: neuron embeddings and polysemanticity for every neuron
 * of a layer (SPEC §2, §3). */
#ifndef MONOLAB_EMBED_H
#define MONOLAB_EMBED_H
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
} ml_embed_opts;

/* A layer in memory, whatever the input file was. */
typedef struct {
    int T, d, n;        /* rows, input dim, neurons */
    float *pre;         /* [T][d] */
    float *W;           /* [d][n] */
    float *b;           /* [n] (zeros if absent) */
    float *max_act;     /* [n] or NULL */
    int64_t *doc;       /* [T] context of each row, or NULL: each row its own example */
    int act;            /* -1 none, else the ml_act_fwd code; 3 = gelu_new */
    int *true_features; /* [n] toy checkpoints only, else NULL */
    char desc[256];
} ml_layer;

/* Selected examples of one neuron, in dataset order. */
typedef struct {
    int n;
    int64_t *example; /* doc id (or row) */
    int64_t *row;     /* key token row */
    float *act;
} ml_selection;

void ml_layer_load(ml_layer *L, const char *path, const ml_embed_opts *o);
void ml_layer_free(ml_layer *L);
float ml_layer_act(const ml_layer *L, float z);

/* SPEC §2.2 for every neuron: sel[n] is filled. */
void ml_select_examples(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel);

/* Per neuron results of clustering. */
typedef struct {
    int n_clusters;
    double max_dist, mean_dist, mean_intra, mean_inter;
    int *labels;  /* [n examples] */
    double *Z;    /* [(n-1) x 4] */
} ml_neuron_result;

/* Embeddings of neuron j at the given rows into E [n][d]: h ⊙ w_j, or h
 * for pre-mlp (SPEC §2.3). */
void ml_embed_rows(const ml_layer *L, int pre_mlp, int j, const int64_t *rows, int n, float *E);

/* The CPU backend of embed + cluster: OpenMP over neurons. */
void ml_embed_cluster_cpu(const ml_layer *L, const ml_embed_opts *o, const ml_selection *sel, ml_neuron_result *res);

/* The CUDA twin of ml_select_examples + ml_embed_cluster_cpu (both stages
 * on the device; the stage times, file reading excluded, come back). Only
 * linked in CUDA builds; callers check ml_backend_cuda_get first. */
void ml_embed_run_cuda(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                       double *t_select, double *t_cluster);

/* Spearman correlation with average ranks for ties (NaN if undefined). */
double ml_spearman(const double *x, const double *y, int n);

int ml_embed_main(int argc, char **argv);

#endif
