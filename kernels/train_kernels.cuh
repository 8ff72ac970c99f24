// Kernels of one training step for a group of G models, in the layout of
// docs/architecture.md "Groups" (params [G][W1|b1|W2], activations
// [G][B][.]). Per-element math and the order of every reduction are shared
// with the CPU twin through include/monolab/elementwise.h, so only the
// parallel decomposition lives here. No atomics anywhere: two runs give
// identical bits.
//
// Kernel variants (the llm.c pattern): the reference kernels are the
// simplest correct decomposition; the fast ones must give the same bits
// (they share the arithmetic and its order) and are chosen at run time by
// MONOLAB_KERNELS (see backend_cuda.cu).
#ifndef MONOLAB_TRAIN_KERNELS_CUH
#define MONOLAB_TRAIN_KERNELS_CUH
#include <cstdint>

struct ml_dev_group {
    int G, N, m, k, out, B, act, task;
    size_t n_param, off_W1, off_b1, off_W2;
    size_t ld_param; // model gi's parameters (and grads, moments) start at gi * ld_param: see ml_ld_param
    const uint64_t *seed;   // [G]
    const float *lr, *decay, *l1, *feat_p; // [G], [G], [G], [G][N]
    const float *Pt, *Qt;   // [G][N][m]
    long long *frozen_at;   // [G], -1 = training
};

// The device stride between models' parameter-shaped buffers: n_param
// rounded up to 64 floats, so that every model's slice starts 256-byte
// aligned, as a model alone does. cuBLAS and cuBLASLt choose kernels by
// their operands' alignment, and another kernel sums in another order: with
// a packed stride a model's bits would depend on its place in its group
// (the layer's CUDA_HOST_GEMM_ORDER=align reproduces that). The padding is
// never read as a parameter: every kernel stops at n_param.
static inline size_t ml_ld_param(size_t n_param) { return (n_param + 63) / 64 * 64; }

// What one optimiser step needs to know of time. Launched eagerly, the
// kernels get it by value (v). Inside a captured CUDA Graph, which replays
// the same arguments every step, they read it from device memory (p), where
// a one-thread kernel copies it from a per-step table and a device counter.
struct ml_step_params {
    long long step;
    float sched, bc1, bc2s;
    int decay_on;
};
struct ml_step_arg {
    ml_step_params v;
    const ml_step_params *p; // non-null in graph mode
};

void ml_k_sample(const ml_dev_group &g, uint32_t stream, ml_step_arg sa, int fast, float *X, float *T, cudaStream_t s);
void ml_k_bias_act(const ml_dev_group &g, const float *params, float *PRE, float *H, int rows, cudaStream_t s);
void ml_k_loss_grad(const ml_dev_group &g, float *Y, const float *T, double *rowloss, int make_grad, cudaStream_t s);
void ml_k_reduce_loss(const ml_dev_group &g, const double *rowloss, double *loss, ml_step_arg sa, int freeze,
                      cudaStream_t s);
void ml_k_act_backward(const ml_dev_group &g, float *dH, const float *H, const float *PRE, cudaStream_t s);
// db1 by the slab order of elementwise.h. fused: the activation backward
// runs in the same pass (dH -> dPRE in place), one read of the B x k arrays.
void ml_k_bias_grad(const ml_dev_group &g, float *dPRE, const float *H, const float *PRE, int fused, float *part,
                    float *grads, cudaStream_t s);
void ml_k_optimize(const ml_dev_group &g, int optimizer, float weight_decay, float *params, float *grads, float *m1,
                   float *m2, double *part_p, double *part_a, float *ratio, ml_step_arg sa, cudaStream_t s);
void ml_k_sfa_act(const ml_dev_group &g, const float *params, float *S, cudaStream_t s);
// Blocks of ML_GRID_THREADS for a grid-stride loop over n elements, capped
// (lower under the tests' MONOLAB_GRID_CAP, to exercise the wrap-around).
#define ML_GRID_THREADS 256
int ml_grid_for(size_t n);
// Graph mode: sp <- table[*counter], then ++*counter.
void ml_k_step_fill(const ml_step_params *table, long long *counter, ml_step_params *sp, cudaStream_t s);

#endif
