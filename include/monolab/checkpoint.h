/* Loading a toy-model checkpoint written by `monolab sweep`: tensors plus
 * the hyperparameters kept in its metadata. */
#ifndef MONOLAB_CHECKPOINT_H
#define MONOLAB_CHECKPOINT_H
#include "monolab/config.h"

typedef struct {
    ml_run run;      /* task, shapes, activation, sampling, eps, seed from metadata */
    int out;
    float *W1, *b1, *W2, *P; /* [k][m], [k], [out][k], [m][N] */
} ml_checkpoint;

/* Exits 2 with the file and the tensor or key at fault. */
void ml_checkpoint_load(ml_checkpoint *c, const char *path);
void ml_checkpoint_free(ml_checkpoint *c);

/* S [k][N] = phi(W1 P + b1): single-feature activations (SPEC §1.9). */
void ml_checkpoint_sfa(const ml_checkpoint *c, float *S);

/* B fresh inputs from the training distribution (SPEC §1.1, §1.3) on the
 * probe stream keyed by seed: features V [B][N] and x = P v in X [B][m]. */
void ml_checkpoint_inputs(const ml_checkpoint *c, uint64_t seed, int B, float *V, float *X);

#endif
