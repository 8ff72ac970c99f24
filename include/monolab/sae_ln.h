/* The neuron-embedding loss L_N of an SAE and the running means h̄ it pulls
 * towards (Foote 2024 §4; docs/science.md §2.5). Plain C on host arrays, one model at a time:
 * both backends' CPU paths and the tests call these.
 *
 * Within a batch: L_N and its gradient use h̄ as it was before the batch
 * (every example of a batch sees the same, gradient-free target); then h̄
 * is updated once per activating example, in batch order, with
 * h̄ ← 0.9 h̄ + 0.1 x_b (the first activating input ever initialises it).
 * Why: that is the paper's per-input formula applied literally, so h̄
 * depends on the data order only, not on the batch size; and no example's
 * target contains itself. */
#ifndef MONOLAB_SAE_LN_H
#define MONOLAB_SAE_LN_H

/* L_N of a batch, mean over the batch, and gW_enc += scale · dL_N/dW_enc.
 * X [B][d] inputs, A [B][n] activations, W_enc [d][n], hbar [n][d],
 * hset [n] (nonzero once h̄_j is set). A pair with |u|·|v| = 0 counts
 * 1 - 0 and has no gradient. */
double ml_sae_ln_grad(int d, int n, int B, const float *X, const float *A, const float *W_enc, const float *hbar,
                      const unsigned char *hset, float scale, float *gW_enc);

/* h̄ after a batch, as described above. */
void ml_sae_hbar_update(int d, int n, int B, const float *X, const float *A, float *hbar, unsigned char *hset);

#endif
