/* Sparse autoencoders trained in groups (Foote 2024 §4; see
 * docs/science.md §2.5). A group is G SAEs of
 * one shape that read the same data; l1 (λ1), ln (λ2) and seed are
 * per-model. Per model:
 *   a  = relu((x - b_dec) W_enc + b_enc)         W_enc [d][n]  (SAELens layout)
 *   x̂ = a W_dec + b_dec                          W_dec [n][d]
 *   L  = mean((x̂ - x)^2) + λ1 · mean_b Σ_j a_bj + λ2 · L_N   (L_N from step ln_start on)
 *   L_N = mean_b Σ_{j: a_bj > 0, h̄_j set} [1 - cos(h̄_j ⊙ w_j, x_b ⊙ w_j)],  w_j = W_enc[:, j]
 * then Adam and unit-norm rows of W_dec. h̄_j is the running mean of the
 * inputs that activate latent j; it carries no gradient (see sae_ln.h). */
#ifndef MONOLAB_SAE_H
#define MONOLAB_SAE_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int G;
    int d, n;       /* input dim, latents */
    int B;          /* batch */
    float lr;       /* Adam */
    long ln_start;  /* first step with L_N */
    uint64_t *seed; /* [G] */
    float *l1, *ln; /* [G]: λ1, λ2 */
} ml_sae_group;

/* Per-model parameter layout: [W_enc d*n | b_enc n | W_dec n*d | b_dec d]. */
typedef struct {
    size_t W_enc, b_enc, W_dec, b_dec, n_param;
} ml_sae_layout;
ml_sae_layout ml_sae_layout_of(int d, int n);

/* Initial parameters of one SAE: W_dec rows U(-1,1) from ML_STREAM_SAE_INIT
 * keyed by seed, scaled to unit norm; W_enc = W_decᵀ; biases 0. */
void ml_sae_init(int d, int n, uint64_t seed, float *params);

/* Scale each row of W_dec [n][d] to unit norm (rows of norm 0 stay 0). */
void ml_sae_normalize_dec(float *W_dec, int n, int d);

/* Loss terms of the last step, per model. */
typedef struct {
    double mse, l1, ln, loss;
} ml_sae_terms;

/* The backend interface for SAE groups; the CPU twin is ml_sae_cpu. */
typedef struct {
    const char *name;
    void *(*create)(const ml_sae_group *g, const float *init_params /* [G][n_param] */);
    void (*destroy)(void *st);
    /* One step of every model: model gi's batch is rows[gi*B .. gi*B+B) of
     * data [*][d]; step counts from 0 (L_N is on when step >= ln_start). */
    void (*step)(void *st, const ml_sae_group *g, const float *data, const int *rows, long step);
    void (*terms)(void *st, const ml_sae_group *g, ml_sae_terms *out);
    void (*params)(void *st, const ml_sae_group *g, float *out);
    /* For tests: "grads" [G][n_param], "hbar" [G][n][d], "hset" [G][n] (0/1). */
    void (*peek)(void *st, const ml_sae_group *g, const char *name, float *out);
} ml_sae_backend;

extern const ml_sae_backend ml_sae_cpu;

#endif
