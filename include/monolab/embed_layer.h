/* Loading the layer that `monolab embed` works on (src/embed_layer.c):
 * an activation file or a toy-model checkpoint, as one ml_layer. */
#ifndef MONOLAB_EMBED_LAYER_H
#define MONOLAB_EMBED_LAYER_H
#include "monolab/embed.h"

/* Exits 2 naming the file and the tensor or key at fault. */
void ml_layer_load(ml_layer *L, const char *path, const ml_embed_opts *o);
void ml_layer_free(ml_layer *L);

/* W [d][n] as n contiguous columns [n][d] (caller frees): w_j read with
 * stride n is a cache miss per element. */
float *ml_layer_w_columns(const ml_layer *L);

#endif
