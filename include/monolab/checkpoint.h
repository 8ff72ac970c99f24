/* Toy-model checkpoints (src/checkpoint.c): OUTDIR/ckpt/RUN_ID/
 * step_NNNNNN.safetensors, tensors plus the run's hyperparameters in the
 * metadata; written by `monolab sweep`, read by analyze and embed. */
#ifndef MONOLAB_CHECKPOINT_H
#define MONOLAB_CHECKPOINT_H
#include "monolab/config.h"
#include "monolab/group.h"
#include "monolab/safetensors.h"

typedef struct {
    ml_run run;      /* task, shapes, activation, sampling, eps, seed from metadata */
    int out;
    float *W1, *b1, *W2, *P; /* [k][m], [k], [out][k], [m][N] */
} ml_checkpoint;

/* Model gi of group g after `done` steps, its parameters p [n_param]:
 * written atomically (a reader never sees half a checkpoint). */
void ml_checkpoint_write(const char *outdir, const ml_group *g, int gi, long done, const float *p);

/* Exits 2 with the file and the tensor or key at fault. */
void ml_checkpoint_load(ml_checkpoint *c, const char *path);
/* The same from a file already open (the caller closes it). */
void ml_checkpoint_read(ml_checkpoint *c, const ml_st_file *f);
void ml_checkpoint_free(ml_checkpoint *c);

/* S [k][N] = phi(W1 P + b1): single-feature activations (docs/science.md §1.9). */
void ml_checkpoint_sfa(const ml_checkpoint *c, float *S);

/* B fresh inputs from the training distribution (docs/science.md §1.1, §1.3) on the
 * probe stream keyed by seed: features V [B][N] and x = P v in X [B][m]. */
void ml_checkpoint_inputs(const ml_checkpoint *c, uint64_t seed, int B, float *V, float *X);

#endif
