/* `monolab explore`: a static HTML site over `monolab embed` outputs (one
 * layer per embed folder), opening straight from disk. The page (HTML, CSS,
 * JS under share/explorer/) is linked into the binary; the data are script
 * files, one index per layer and one small file per neuron, loaded lazily
 * by <script> tags, which work on file:// where fetch() does not. */
#ifndef MONOLAB_EXPLORE_H
#define MONOLAB_EXPLORE_H
#include "monolab/csv_table.h"
#include "monolab/common.h"
#include "monolab/embed_layer.h"
#include "monolab/strbuf.h"
#include <stdint.h>

#define ML_EXPLORE_SHOWN 20   /* examples shown per cluster */
#define ML_EXPLORE_BEFORE 20  /* tokens shown before the key token */
#define ML_EXPLORE_AFTER 10   /* and after it */
#define ML_EXPLORE_BLOCK 64   /* neurons per data file (data/L<l>/b/<block>.js) */
#define ML_EXPLORE_KEYS 5     /* key tokens listed per cluster */
#define ML_EXPLORE_ROW_CLUSTERS 4 /* clusters whose top key token a neuron's table row shows */
#define ML_EXPLORE_SHARDS 64  /* token-search files (data/L<l>/k/<token % shards>.js) */
#define ML_EXPLORE_PREVIEW 6  /* tokens before a similar cluster's key token in its preview (2 after) */

/* One embed output folder, its numbers parsed, neuron-major. */
typedef struct {
    char dir[4096], input[ML_PATH_MAX];
    ml_csv neurons;         /* neurons.csv as written by embed */
    int n;                  /* neurons */
    int64_t *ex_first;      /* [n+1] rows of examples.csv per neuron */
    int64_t *ex_id, *ex_row;
    int *ex_cluster;
    float *ex_act;
    int64_t *cl_first;      /* [n+1] cluster ids (clusters.csv rows) per neuron */
    int *cl_central;        /* [C] central example as an index into the neuron's examples */
    int *cl_size;
    double *cl_intra;
    int k;                  /* similar clusters per cluster */
    int64_t *sim_idx;       /* [C][k] */
    float *sim;
    int64_t *z_off;         /* [n+1] rows of Z per neuron */
    double *Z;              /* [rows][4] */
    double threshold;
    ml_embed_opts opts;     /* embed_settings.txt: what embed worked on, input included */
} ml_embed_out;

/* What the examples were: the layer's inputs, and their tokens or, for toy
 * models, their features. */
typedef struct {
    ml_layer L;
    int64_t *tokens;   /* [T] token ids, or NULL */
    char **vocab;      /* id -> text, or NULL (ids are shown) */
    int n_vocab;
    float *V;          /* toy: features [T][N], else NULL */
    int N;
    char name[256];    /* for the layer picker: "gpt2 layer 3", "toy r000001" */
} ml_explore_src;

/* Exit 2 with one line naming the file at fault. */
void ml_embed_out_load(ml_embed_out *e, const char *dir);
void ml_embed_out_free(ml_embed_out *e);
void ml_explore_src_load(ml_explore_src *s, const ml_embed_out *e, const char *input, const char *vocab);
void ml_explore_src_free(ml_explore_src *s);

/* data/L<layer>/: index.js, vocab.js, b/<block>.js (ML_EXPLORE_BLOCK
 * neurons each) and k/<shard>.js (token search). */
void ml_explore_write_layer(const char *site, int layer, const ml_embed_out *e, const ml_explore_src *s);

/* Each neuron's maximum activation over the input (the input's max_act
 * when it has one), [n], caller frees. */
float *ml_explore_neuron_max(const ml_layer *L);
/* The k most frequent key tokens of neuron j's examples in `cluster`, most
 * first (ties: first seen); returns how many (0 without tokens). */
int ml_explore_top_keys(const ml_embed_out *e, const ml_explore_src *s, int j, int cluster, int k, int64_t *ids,
                        int *counts);
/* Every (key token, neuron, cluster) with its example count, sorted by
 * token, then count (most first), neuron, cluster; caller frees. */
typedef struct {
    int64_t token;
    int neuron, cluster, count;
} ml_explore_key;
ml_explore_key *ml_explore_key_list(const ml_embed_out *e, const ml_explore_src *s, int64_t *len);
/* out = prefix "<base64 of gzip(json)>");\n  (see explore_pack.c). */
void ml_explore_pack(ml_sbuf *out, const char *prefix, const char *json, size_t n);

int ml_explore_main(int argc, char **argv);

#endif
