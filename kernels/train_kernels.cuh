// Kernels of one training step for a group of G models, in the layout of
// docs/architecture.md "Groups" (params [G][W1|b1|W2], activations
// [G][B][.]). Per-element math is shared with the CPU twin through
// include/monolab/elementwise.h, so only the parallel decomposition lives
// here. No atomics anywhere: every reduction has a fixed order, so two runs
// give identical results.
#ifndef MONOLAB_TRAIN_KERNELS_CUH
#define MONOLAB_TRAIN_KERNELS_CUH
#include <cstdint>

struct ml_dev_group {
    int G, N, m, k, out, B, act, task;
    size_t n_param, off_W1, off_b1, off_W2;
    const uint64_t *seed;   // [G]
    const float *lr, *decay, *l1, *feat_p; // [G], [G], [G], [G][N]
    const float *Pt, *Qt;   // [G][N][m]
    long long *frozen_at;   // [G], -1 = training
};

void ml_k_sample(const ml_dev_group &g, uint32_t stream, uint32_t step, float *X, float *T, cudaStream_t s);
void ml_k_bias_act(const ml_dev_group &g, const float *params, float *PRE, float *H, int rows, cudaStream_t s);
void ml_k_loss_grad(const ml_dev_group &g, float *Y, const float *T, double *rowloss, int make_grad, cudaStream_t s);
void ml_k_reduce_loss(const ml_dev_group &g, const double *rowloss, double *loss, long long step, int freeze,
                      cudaStream_t s);
void ml_k_act_backward(const ml_dev_group &g, float *dH, const float *H, const float *PRE, cudaStream_t s);
void ml_k_bias_grad(const ml_dev_group &g, const float *dPRE, float *grads, cudaStream_t s);
void ml_k_optimize(const ml_dev_group &g, int optimizer, float weight_decay, float *params, float *grads, float *m1,
                   float *m2, double *part_p, double *part_a, float *ratio, long step, float sched, int decay_on,
                   cudaStream_t s);
void ml_k_sfa_act(const ml_dev_group &g, const float *params, float *S, cudaStream_t s);

#endif
