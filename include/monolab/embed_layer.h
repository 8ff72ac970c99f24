/* The data of `monolab embed` (docs/science.md §2, §3): its options, a
 * layer in memory, each neuron's selected examples and clustering results;
 * and loading the layer (src/embed_layer.c): an activation file or a
 * toy-model checkpoint, as one ml_layer. Every module of the embed
 * subsystem, the backends' twins included, works on these types, so they
 * sit below all of them. */
#ifndef MONOLAB_EMBED_LAYER_H
#define MONOLAB_EMBED_LAYER_H
#include "monolab/vocab.h"
#include <stdint.h>

#define ML_SIMILAR_K 20 /* similar clusters kept per cluster by default */

/* The options of `monolab embed`, recorded in embed_settings.txt
 * (src/embed_pin.c) so that explore works on exactly what embed did. */
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
    char run_id[24];     /* the checkpoint's run */
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

/* The defaults of every option (README.md "embed"): the one place they
 * live. Inline, so that the config loader (which sets sae's embed keys
 * over them) needs no more of the embed subsystem than this header. */
static inline ml_embed_opts ml_embed_opts_default(void) {
    return (ml_embed_opts){.act_frac = 0.75, .max_examples = 100, .threshold = 0.5, .pre_mlp = 0, .samples = 4096,
                           .seed = 0, .seed_set = 0, .feat_frac = 0.1, .similar = ML_SIMILAR_K, .probe = PROBE_TRAINING};
}

/* Exits 2 naming the file and the tensor or key at fault. */
void ml_layer_load(ml_layer *L, const char *path, const ml_embed_opts *o);
void ml_layer_free(ml_layer *L);

/* W [d][n] as n contiguous columns [n][d] (caller frees): w_j read with
 * stride n is a cache miss per element. */
float *ml_layer_w_columns(const ml_layer *L);

/* Embeddings of neuron j at the given rows into E [n][d]: h ⊙ w_j, or h
 * for pre-mlp (docs/science.md §2.1). */
void ml_embed_rows(const ml_layer *L, int pre_mlp, int j, const int64_t *rows, int n, float *E);

#endif
