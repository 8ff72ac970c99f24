/* Everything drawn once per model from its seed, on the host, for every
 * backend: the embedder (docs/science.md §1.2), the initial parameters (§1.5) and the
 * per-feature activation probabilities (§1.1). */
#ifndef MONOLAB_MODEL_INIT_H
#define MONOLAB_MODEL_INIT_H
#include "monolab/config.h"
#include <stdint.h>

/* Pt: N x m row-major, row i = unit vector along which feature i enters.
 * stream picks P (ML_STREAM_EMBED_P) or Q (ML_STREAM_EMBED_Q). */
void ml_embedder(uint64_t seed, uint32_t stream, int N, int m, float *Pt);

/* The Gaussian matrix G (N x m, row-major, double) the embedder starts from. */
void ml_embedder_gaussian(uint64_t seed, uint32_t stream, int N, int m, double *G);

/* The i-th standard normal of Philox stream (seed, stream): Box-Muller on
 * two words of ml_draw(seed, stream, 0, i), in double (host only). */
double ml_normal(uint64_t seed, uint32_t stream, uint64_t i);

/* nn.Linear-style init plus bias offset into params [W1|b1|W2]. */
void ml_init_params(const ml_run *r, float *params);

/* p[i] for i in 0..N-1: eps (uniform) or min(1, c i^-1.1) (power law);
 * the abs task draws two samples at density eps/2 each. */
void ml_feature_probs(const ml_run *r, float *p);

#endif
