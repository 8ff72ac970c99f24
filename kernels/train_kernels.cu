// Kernels of one training step for a group (see train_kernels.cuh). The
// per-element math comes from include/monolab/elementwise.h, shared with
// the CPU backend; reductions use fixed-order tree sums (no atomics).
#include "cuda_check.h"
#include "train_kernels.cuh"
extern "C" {
#include "monolab/elementwise.h"
}

#define THREADS 256

// Fixed-order block sum of one double per thread (blockDim.x == THREADS).
__device__ double block_sum(double v, double *sh) {
    sh[threadIdx.x] = v;
    __syncthreads();
    for (int w = THREADS / 2; w > 0; w >>= 1) {
        if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
        __syncthreads();
    }
    double r = sh[0];
    __syncthreads();
    return r;
}

// One block per (sample b, model g): draw the N features into shared
// memory, write the target, then x = P v (and Q v) summed in feature order.
__global__ void sample_kernel(ml_dev_group g, uint32_t stream, uint32_t step, float *X, float *T) {
    extern __shared__ float v[];
    int b = blockIdx.x, gi = blockIdx.y;
    if (g.frozen_at[gi] >= 0) return;
    const int N = g.N, m = g.m, is_abs = g.task == TASK_ABS, reproj = g.task == TASK_REPROJECTOR;
    const float *p = g.feat_p + (size_t)gi * N;
    float *t = T + ((size_t)gi * g.B + b) * g.out;
    for (int i = threadIdx.x; i < N; i += blockDim.x) {
        float val = ml_sample_feature(g.seed[gi], stream, step, (uint64_t)b, N, i, p[i], is_abs);
        v[i] = val;
        if (!reproj) t[i] = is_abs ? fabsf(val) : val;
    }
    __syncthreads();
    const float *Pt = g.Pt + (size_t)gi * N * m;
    for (int c = threadIdx.x; c < m; c += blockDim.x) {
        float acc = 0.0f, acc_q = 0.0f;
        for (int i = 0; i < N; i++) {
            float val = v[i];
            if (val == 0.0f) continue;
            acc += val * Pt[(size_t)i * m + c];
            if (reproj) acc_q += val * g.Qt[((size_t)gi * N + i) * m + c];
        }
        X[((size_t)gi * g.B + b) * m + c] = acc;
        if (reproj) t[c] = acc_q;
    }
}

void ml_k_sample(const ml_dev_group &g, uint32_t stream, uint32_t step, float *X, float *T, cudaStream_t s) {
    dim3 grid(g.B, g.G);
    sample_kernel<<<grid, 128, sizeof(float) * g.N, s>>>(g, stream, step, X, T);
    cudaLaunchCheck("sample");
}

// PRE += b1; H = phi(PRE), over [G][rows][k].
__global__ void bias_act_kernel(ml_dev_group g, const float *params, float *PRE, float *H, int rows) {
    size_t n = (size_t)g.G * rows * g.k;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        int gi = (int)(e / ((size_t)rows * g.k)), j = (int)(e % g.k);
        if (g.frozen_at[gi] >= 0) continue;
        float z = PRE[e] + params[(size_t)gi * g.n_param + g.off_b1 + j];
        PRE[e] = z;
        H[e] = ml_act_fwd(g.act, z);
    }
}

static int grid_for(size_t n) {
    size_t b = (n + THREADS - 1) / THREADS;
    return (int)(b < 65535 * 8 ? (b ? b : 1) : 65535 * 8);
}

void ml_k_bias_act(const ml_dev_group &g, const float *params, float *PRE, float *H, int rows, cudaStream_t s) {
    bias_act_kernel<<<grid_for((size_t)g.G * rows * g.k), THREADS, 0, s>>>(g, params, PRE, H, rows);
    cudaLaunchCheck("bias_act");
}

// One block per row: rowloss = sum (y - t)^2; optionally Y <- 2 (y - t) / B.
__global__ void loss_grad_kernel(ml_dev_group g, float *Y, const float *T, double *rowloss, int make_grad) {
    __shared__ double sh[THREADS];
    int row = blockIdx.x, gi = row / g.B;
    if (g.frozen_at[gi] >= 0) return;
    float *y = Y + (size_t)row * g.out;
    const float *t = T + (size_t)row * g.out;
    double acc = 0;
    const float scale = 2.0f / (float)g.B;
    for (int o = threadIdx.x; o < g.out; o += THREADS) {
        float d = y[o] - t[o];
        acc += (double)d * d;
        if (make_grad) y[o] = scale * d;
    }
    double tot = block_sum(acc, sh);
    if (threadIdx.x == 0) rowloss[row] = tot;
}

void ml_k_loss_grad(const ml_dev_group &g, float *Y, const float *T, double *rowloss, int make_grad, cudaStream_t s) {
    loss_grad_kernel<<<g.G * g.B, THREADS, 0, s>>>(g, Y, T, rowloss, make_grad);
    cudaLaunchCheck("loss_grad");
}

// One block per model: loss = sum_b rowloss / B; freeze a non-finite model.
__global__ void reduce_loss_kernel(ml_dev_group g, const double *rowloss, double *loss, long long step, int freeze) {
    __shared__ double sh[THREADS];
    int gi = blockIdx.x;
    if (g.frozen_at[gi] >= 0) {
        if (threadIdx.x == 0) loss[gi] = NAN;
        return;
    }
    double acc = 0;
    for (int b = threadIdx.x; b < g.B; b += THREADS) acc += rowloss[(size_t)gi * g.B + b];
    double tot = block_sum(acc, sh) / g.B;
    if (threadIdx.x == 0) {
        loss[gi] = tot;
        if (freeze && !isfinite(tot)) g.frozen_at[gi] = step;
    }
}

void ml_k_reduce_loss(const ml_dev_group &g, const double *rowloss, double *loss, long long step, int freeze,
                      cudaStream_t s) {
    reduce_loss_kernel<<<g.G, THREADS, 0, s>>>(g, rowloss, loss, step, freeze);
    cudaLaunchCheck("reduce_loss");
}

// dPRE = (dH + l1/B sign(h)) * phi'(pre), in place in dH.
__global__ void act_backward_kernel(ml_dev_group g, float *dH, const float *H, const float *PRE) {
    size_t n = (size_t)g.G * g.B * g.k;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        int gi = (int)(e / ((size_t)g.B * g.k));
        if (g.frozen_at[gi] >= 0) continue;
        float reg = g.l1[gi] / (float)g.B, d = dH[e];
        if (reg != 0.0f) d += reg * ml_sign(H[e]);
        dH[e] = d * ml_act_grad(g.act, PRE[e]);
    }
}

void ml_k_act_backward(const ml_dev_group &g, float *dH, const float *H, const float *PRE, cudaStream_t s) {
    act_backward_kernel<<<grid_for((size_t)g.G * g.B * g.k), THREADS, 0, s>>>(g, dH, H, PRE);
    cudaLaunchCheck("act_backward");
}

// db1[j] = sum_b dPRE[b][j], in batch order, one thread per (model, neuron).
__global__ void bias_grad_kernel(ml_dev_group g, const float *dPRE, float *grads) {
    size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x;
    if (e >= (size_t)g.G * g.k) return;
    int gi = (int)(e / g.k), j = (int)(e % g.k);
    if (g.frozen_at[gi] >= 0) return;
    const float *d = dPRE + (size_t)gi * g.B * g.k + j;
    float acc = 0.0f;
    for (int b = 0; b < g.B; b++) acc += d[(size_t)b * g.k];
    grads[(size_t)gi * g.n_param + g.off_b1 + j] = acc;
}

void ml_k_bias_grad(const ml_dev_group &g, const float *dPRE, float *grads, cudaStream_t s) {
    bias_grad_kernel<<<grid_for((size_t)g.G * g.k), THREADS, 0, s>>>(g, dPRE, grads);
    cudaLaunchCheck("bias_grad");
}

// One block per (chunk, model): moments and, for LAMB, the direction a (into
// grads) and the chunk's partial norms; Adam/AdamW update in place.
__global__ void opt_pass1_kernel(ml_dev_group g, int optimizer, float weight_decay, float *params, float *grads,
                                 float *m1, float *m2, double *part_p, double *part_a, int n_chunks, long step,
                                 float sched, int decay_on) {
    __shared__ double sh[THREADS];
    int c = blockIdx.x, gi = blockIdx.y;
    if (g.frozen_at[gi] >= 0) return;
    size_t lo, hi;
    int tensor;
    ml_opt_chunk(g.off_b1, g.off_W2, g.n_param, (size_t)c, &lo, &hi, &tensor);
    size_t base = (size_t)gi * g.n_param;
    float *p = params + base, *gr = grads + base, *mm = m1 + base, *vv = m2 + base;
    const float lr = g.lr[gi] * sched;
    if (optimizer == OPT_LAMB) {
        double pp = 0, aa = 0;
        for (size_t i = lo + threadIdx.x; i < hi; i += THREADS) {
            float a = ml_lamb_dir(gr[i], &mm[i], &vv[i]);
            gr[i] = a;
            pp += (double)p[i] * p[i];
            aa += (double)a * a;
        }
        pp = block_sum(pp, sh);
        aa = block_sum(aa, sh);
        if (threadIdx.x == 0) {
            part_p[(size_t)gi * n_chunks + c] = pp;
            part_a[(size_t)gi * n_chunks + c] = aa;
        }
        return;
    }
    float bc1, bc2s;
    ml_adam_bias_correction(step, &bc1, &bc2s);
    const float wdf = optimizer == OPT_ADAMW ? 1.0f - lr * weight_decay : 1.0f;
    const float f = ml_bias_decay_factor(g.decay[gi], g.lr[gi]);
    for (size_t i = lo + threadIdx.x; i < hi; i += THREADS) {
        float q = ml_adam_update(p[i], gr[i], &mm[i], &vv[i], lr, bc1, bc2s, wdf);
        if (decay_on && tensor == ML_TENSOR_B1) q *= f; /* after the update (docs/science.md §1.7) */
        p[i] = q;
    }
}

// One thread per model: per-tensor trust ratios from the partials, in order.
__global__ void lamb_ratio_kernel(ml_dev_group g, const double *part_p, const double *part_a, int n_chunks,
                                  float *ratio) {
    int gi = blockIdx.x * blockDim.x + threadIdx.x;
    if (gi >= g.G || g.frozen_at[gi] >= 0) return;
    ml_lamb_ratios(g.off_b1, g.off_W2, g.n_param, part_p + (size_t)gi * n_chunks, part_a + (size_t)gi * n_chunks,
                   n_chunks, ratio + gi * 3);
}

// LAMB pass 2: p -= lr_t * ratio * a, then bias decay on b1.
__global__ void lamb_apply_kernel(ml_dev_group g, float *params, const float *dir, const float *ratio, float sched,
                                  int decay_on) {
    size_t n = (size_t)g.G * g.n_param;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        int gi = (int)(e / g.n_param);
        size_t i = e % g.n_param;
        if (g.frozen_at[gi] >= 0) continue;
        int t = i < g.off_b1 ? ML_TENSOR_W1 : i < g.off_W2 ? ML_TENSOR_B1 : ML_TENSOR_W2;
        float q = params[e] - g.lr[gi] * sched * ratio[gi * 3 + t] * dir[e];
        if (decay_on && t == ML_TENSOR_B1) q *= ml_bias_decay_factor(g.decay[gi], g.lr[gi]);
        params[e] = q;
    }
}

void ml_k_optimize(const ml_dev_group &g, int optimizer, float weight_decay, float *params, float *grads, float *m1,
                   float *m2, double *part_p, double *part_a, float *ratio, long step, float sched, int decay_on,
                   cudaStream_t s) {
    int nc = ml_opt_n_chunks(g.off_b1, g.off_W2, g.n_param);
    dim3 grid(nc, g.G);
    opt_pass1_kernel<<<grid, THREADS, 0, s>>>(g, optimizer, weight_decay, params, grads, m1, m2, part_p, part_a, nc,
                                              step, sched, decay_on);
    cudaLaunchCheck("opt_pass1");
    if (optimizer != OPT_LAMB) return;
    lamb_ratio_kernel<<<(g.G + 127) / 128, 128, 0, s>>>(g, part_p, part_a, nc, ratio);
    cudaLaunchCheck("lamb_ratio");
    lamb_apply_kernel<<<grid_for((size_t)g.G * g.n_param), THREADS, 0, s>>>(g, params, grads, ratio, sched, decay_on);
    cudaLaunchCheck("lamb_apply");
}

// S[g][j][i] = phi(S + b1[j]) for the single-feature activations.
__global__ void sfa_act_kernel(ml_dev_group g, const float *params, float *S) {
    size_t n = (size_t)g.G * g.k * g.N;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        int gi = (int)(e / ((size_t)g.k * g.N)), j = (int)(e / g.N % g.k);
        S[e] = ml_act_fwd(g.act, S[e] + params[(size_t)gi * g.n_param + g.off_b1 + j]);
    }
}

void ml_k_sfa_act(const ml_dev_group &g, const float *params, float *S, cudaStream_t s) {
    sfa_act_kernel<<<grid_for((size_t)g.G * g.k * g.N), THREADS, 0, s>>>(g, params, S);
    cudaLaunchCheck("sfa_act");
}
