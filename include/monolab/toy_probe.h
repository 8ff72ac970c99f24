/* The probe inputs of `monolab embed` on a toy checkpoint (src/toy_probe.c):
 * the examples whose embeddings are clustered (docs/science.md §3). */
#ifndef MONOLAB_TOY_PROBE_H
#define MONOLAB_TOY_PROBE_H
#include "monolab/checkpoint.h"
#include "monolab/vocab.h"

/* B inputs of the given kind on the probe stream keyed by seed: features
 * V [B][N] and x = P v in X [B][m]. PROBE_TRAINING samples as in training;
 * PROBE_SINGLE activates exactly one feature, PROBE_PAIR exactly two
 * distinct ones, chosen uniformly, each with a value from U[0,1) (for the
 * abs task, with a random sign, as v1 - v2 can have either). */
void ml_probe_inputs(const ml_checkpoint *c, uint64_t seed, ml_probe kind, int B, float *V, float *X);

#endif
