/* The host side of SAE training and scoring, above the SAE backend. */
#ifndef MONOLAB_SAE_TRAIN_H
#define MONOLAB_SAE_TRAIN_H
#include "monolab/embed_layer.h"
#include "monolab/sae_mlp.h"
#include "monolab/sae.h"
#include <stdio.h>

/* Every model of g for `epochs` passes over data [n_rows][d], each model in
 * its own order (ML_STREAM_SHUFFLE keyed by its seed, step 1<<16 | epoch),
 * n_rows / B full batches per epoch. Starts from init [G][n_param]; the
 * final parameters go to out [G][n_param], the last step's loss terms to
 * terms [G]. log (may be NULL) gets "sae,step,mse,l1,ln,loss" rows every
 * log_every steps, ids naming the models. */
void ml_sae_train(const ml_sae_backend *be, const ml_sae_group *g, const float *init, const float *data, int n_rows,
                  int epochs, float *out, ml_sae_terms *terms, FILE *log, int log_every, const char *const *ids);

/* Table 2 of Foote 2024 for one SAE, on held-out inputs. */
typedef struct {
    double mse, l1, l0;        /* mean squared error per element; mean Σ_j a_j; fraction of latents active */
    double dead;               /* fraction of latents active on no input */
    double acc, acc_drop;      /* MLP accuracy with x̂ spliced in; base accuracy minus it */
    double med_max_dist, med_mean_dist; /* medians over latents with >= 2 selected examples */
    int scored;                /* those latents */
} ml_sae_score;

/* X [T][d]: MLP hidden activations of the test set, y its labels, base_acc
 * the MLP's own accuracy there; params one SAE's parameters. */
void ml_sae_score_one(const ml_mlp *mlp, const float *X, const int *y, int T, double base_acc, int n,
                      const float *params, const ml_embed_opts *eo, ml_sae_score *s);

#endif
