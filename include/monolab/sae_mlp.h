/* The base model of `monolab sae` (Foote 2024 §4, docs/science.md §2.5): an MLP
 * d_in -> hidden (ReLU) -> n_out trained with cross-entropy and Adam. Its
 * hidden layer is what the sparse autoencoders reconstruct. */
#ifndef MONOLAB_SAE_MLP_H
#define MONOLAB_SAE_MLP_H
#include "monolab/sae_idx.h"
#include <stdint.h>

typedef struct {
    int d_in, hidden, n_out;
    long n_param;
    float *params;          /* [W1 hidden*d_in | b1 hidden | W2 n_out*hidden | b2 n_out] */
    float *W1, *b1, *W2, *b2; /* views into params (torch.nn.Linear layout: [out][in]) */
} ml_mlp;

/* torch.nn.Linear's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
 * weights and biases, drawn from ML_STREAM_MLP_INIT keyed by seed. */
void ml_mlp_init(ml_mlp *m, int d_in, int hidden, int n_out, uint64_t seed);
void ml_mlp_free(ml_mlp *m);

/* H [n][hidden] = relu(X W1ᵀ + b1). */
void ml_mlp_hidden(const ml_mlp *m, const float *X, int n, float *H);
/* Fraction of rows whose argmax of H W2ᵀ + b2 (first on ties) is y. */
double ml_mlp_accuracy(const ml_mlp *m, const float *H, const int *y, int n);

/* Working memory of a training step (gradients and Adam moments). */
typedef struct {
    int B;
    float *grads, *m1, *m2;
    float *H, *PRE, *L; /* [B][hidden], [B][hidden], [B][n_out] */
    long t;             /* Adam steps taken */
} ml_mlp_trainer;

void ml_mlp_trainer_init(ml_mlp_trainer *t, const ml_mlp *m, int B);
void ml_mlp_trainer_free(ml_mlp_trainer *t);
/* Mean cross-entropy of a batch of B rows and its gradient in t->grads. */
double ml_mlp_grad(const ml_mlp *m, ml_mlp_trainer *t, const float *X, const int *y, int B);
/* ml_mlp_grad then one Adam step; returns the loss before the step. */
double ml_mlp_step(ml_mlp *m, ml_mlp_trainer *t, const float *X, const int *y, int B, float lr);

/* epochs over the training set in shuffled order (ML_STREAM_SHUFFLE, keyed
 * by seed, step = epoch), batches of `batch` (the last one shorter). */
void ml_mlp_train(ml_mlp *m, const ml_digits *train, int epochs, int batch, float lr, uint64_t seed);

/* safetensors: W1, b1, W2, b2 plus string metadata; load checks shapes
 * against the expected sizes and exits 2 naming the file otherwise. */
void ml_mlp_save(const ml_mlp *m, const char *path, int n_meta, const char *const *meta_kv);
void ml_mlp_load(ml_mlp *m, const char *path, int d_in, int hidden, int n_out);

#endif
