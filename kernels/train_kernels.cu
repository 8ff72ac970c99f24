// Kernels of one training step for a group (see train_kernels.cuh). The
// per-element math and every reduction order come from
// include/monolab/elementwise.h, shared with the CPU backend; the kernels
// are built with --fmad=false (Makefile) so that nvcc, like gcc at
// -std=c11, never contracts a*b+c into an FMA: the same expression rounds
// the same way on both backends.
#include "cuda_check.h"
#include "train_kernels.cuh"
extern "C" {
#include "monolab/config.h"
#include "monolab/cuda_launch.h"
#include "monolab/elementwise.h"
}

#define THREADS ML_GRID_THREADS
#define FULL_MASK 0xffffffffu

// The ML_LANES lane sum of elementwise.h, run by one warp: lane l has
// added terms l, l+32, ... in order; the shuffle-down tree folds the lanes
// exactly as ml_lanes_fold does on the CPU. The result is in lane 0.
__device__ double warp_fold(double v) {
    for (int w = ML_LANES / 2; w > 0; w >>= 1) v += __shfl_down_sync(FULL_MASK, v, w);
    return v;
}

// Grid of a grid-stride loop over n elements. MONOLAB_GRID_CAP (tests
// only) lowers the cap so that small cases exercise the wrap-around.
static int grid_for(size_t n) {
    const char *e = getenv("MONOLAB_GRID_CAP");
    const size_t cap = e && atol(e) > 0 ? (size_t)atol(e) : (size_t)65535 * 8;
    size_t b = (n + THREADS - 1) / THREADS;
    return (int)(b < cap ? (b ? b : 1) : cap);
}
int ml_grid_for(size_t n) { return grid_for(n); }

// ---------------------------------------------------------------- sampling
// One block per (sample b, model g). The targets of decoder/abs are the
// feature values themselves; x = P v (and the reprojector's Q v) is summed
// over the nonzero features in feature order from 0, as the CPU does.

__device__ __forceinline__ ml_step_params step_get(const ml_step_arg &sa) { return sa.p ? *sa.p : sa.v; }

// What every sample kernel needs of one (sample b, model gi): the row's
// pointers, the task flags and the step's Philox counter.
struct sample_row {
    uint32_t step;
    int is_abs, reproj;
    const float *p, *Pt, *Qt;
    float *x, *t;
};
__device__ __forceinline__ sample_row sample_row_of(const ml_dev_group &g, const ml_step_arg &sa, int b, int gi,
                                                    float *X, float *T) {
    sample_row r;
    r.step = (uint32_t)step_get(sa).step;
    r.is_abs = g.task == TASK_ABS;
    r.reproj = g.task == TASK_REPROJECTOR;
    r.p = g.feat_p + (size_t)gi * g.N;
    r.Pt = g.Pt + (size_t)gi * g.N * g.m;
    r.Qt = r.reproj ? g.Qt + (size_t)gi * g.N * g.m : nullptr;
    r.x = X + ((size_t)gi * g.B + b) * g.m;
    r.t = T + ((size_t)gi * g.B + b) * g.out;
    return r;
}

// x = 0 (and the reprojector's target), by the threads of the block.
__device__ __forceinline__ void sample_row_zero(const sample_row &r, int m) {
    for (int c = threadIdx.x; c < m; c += blockDim.x) {
        r.x[c] = 0.0f;
        if (r.reproj) r.t[c] = 0.0f;
    }
}

// Variant ref: features drawn in tiles of ML_SAMPLE_TILE into shared memory;
// each thread owns columns c of x and adds a tile's products in order.
__global__ void sample_ref_kernel(ml_dev_group g, uint32_t stream, ml_step_arg sa, float *X,
                                  float *T) {
    ML_DYN_SHARED(float, v);
    int b = blockIdx.x, gi = blockIdx.y;
    if (g.frozen_at[gi] >= 0) return;
    const sample_row r = sample_row_of(g, sa, b, gi, X, T);
    const int N = g.N, m = g.m, is_abs = r.is_abs, reproj = r.reproj;
    const uint32_t step = r.step;
    const float *p = r.p, *Pt = r.Pt, *Qt = r.Qt;
    float *x = r.x, *t = r.t;
    sample_row_zero(r, m);
    for (int i0 = 0; i0 < N; i0 += ML_SAMPLE_TILE) {
        const int n = min(ML_SAMPLE_TILE, N - i0);
        __syncthreads(); // the previous tile is consumed
        for (int i = threadIdx.x; i < n; i += blockDim.x) {
            float val = ml_sample_feature(g.seed[gi], stream, step, (uint64_t)b, N, i0 + i, p[i0 + i], is_abs);
            v[i] = val;
            if (!reproj) t[i0 + i] = is_abs ? fabsf(val) : val;
        }
        __syncthreads();
        for (int c = threadIdx.x; c < m; c += blockDim.x) {
            float acc = x[c], acc_q = reproj ? t[c] : 0.0f;
            for (int i = 0; i < n; i++) {
                float val = v[i];
                if (val == 0.0f) continue;
                acc += val * Pt[(size_t)(i0 + i) * m + c];
                if (reproj) acc_q += val * Qt[(size_t)(i0 + i) * m + c];
            }
            x[c] = acc;
            if (reproj) t[c] = acc_q;
        }
    }
}

// Variant fast: a true gather. Each pass draws blockDim features, compacts
// the active ones (warp ballots, then an exclusive scan over the warps, so
// the list stays in feature order) into a shared list, and the list is
// flushed into x whenever it might overflow. Work per sample ~ eps*N*m
// instead of N*m.
__global__ void sample_gather_kernel(ml_dev_group g, uint32_t stream, ml_step_arg sa,
                                     float *X, float *T) {
    ML_DYN_SHARED(int, sh);
    int *idx = sh, *wcount = sh + ML_GATHER_CAP;
    float *val_l = (float *)(wcount + ML_SAMPLE_THREADS / 32 + 1);
    __shared__ int n_list; ML_POISON_SHARED(n_list);
    int b = blockIdx.x, gi = blockIdx.y;
    if (g.frozen_at[gi] >= 0) return;
    const sample_row r = sample_row_of(g, sa, b, gi, X, T);
    const int N = g.N, m = g.m, is_abs = r.is_abs, reproj = r.reproj;
    const uint32_t step = r.step;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = blockDim.x >> 5;
    const float *p = r.p, *Pt = r.Pt, *Qt = r.Qt;
    float *x = r.x, *t = r.t;
    sample_row_zero(r, m);
    if (threadIdx.x == 0) n_list = 0;
    __syncthreads();
    for (int i0 = 0; i0 < N; i0 += blockDim.x) {
        const int i = i0 + threadIdx.x;
        float val = 0.0f;
        if (i < N) {
            val = ml_sample_feature(g.seed[gi], stream, step, (uint64_t)b, N, i, p[i], is_abs);
            if (!reproj) t[i] = is_abs ? fabsf(val) : val;
        }
        const unsigned ballot = __ballot_sync(FULL_MASK, val != 0.0f);
        if (lane == 0) wcount[warp] = __popc(ballot);
        __syncthreads();
        int before = 0, total = 0;
        for (int w = 0; w < n_warps; w++) {
            before += w < warp ? wcount[w] : 0;
            total += wcount[w];
        }
        const int base = n_list;
        if (val != 0.0f) {
            int pos = base + before + __popc(ballot & ((1u << lane) - 1u));
            idx[pos] = i;
            val_l[pos] = val;
        }
        __syncthreads();
        const int n_now = base + total;
        const bool last = i0 + (int)blockDim.x >= N;
        if (last || n_now + (int)blockDim.x > ML_GATHER_CAP) { // flush, in list order
            for (int c = threadIdx.x; c < m; c += blockDim.x) {
                float acc = x[c], acc_q = reproj ? t[c] : 0.0f;
                for (int a = 0; a < n_now; a++) {
                    acc += val_l[a] * Pt[(size_t)idx[a] * m + c];
                    if (reproj) acc_q += val_l[a] * Qt[(size_t)idx[a] * m + c];
                }
                x[c] = acc;
                if (reproj) t[c] = acc_q;
            }
            __syncthreads();
            if (threadIdx.x == 0) n_list = 0;
        } else if (threadIdx.x == 0) {
            n_list = n_now;
        }
        __syncthreads();
    }
}

// Variant tiny: one warp per sample row, ML_TINY_ROWS rows per block, for
// models small enough (N <= ML_TINY_MAX_N) that a block per row would leave
// most threads idle. Same draws, same order as ref.
__global__ void sample_tiny_kernel(ml_dev_group g, uint32_t stream, ml_step_arg sa, float *X, float *T) {
    __shared__ float v_all[ML_TINY_ROWS][ML_TINY_MAX_N]; ML_POISON_SHARED(v_all);
    const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, gi = blockIdx.y;
    const int b = blockIdx.x * ML_TINY_ROWS + w;
    if (b >= g.B || g.frozen_at[gi] >= 0) return; // whole warps leave; no block-wide sync below
    const sample_row r = sample_row_of(g, sa, b, gi, X, T);
    const int N = g.N, m = g.m, is_abs = r.is_abs, reproj = r.reproj;
    const uint32_t step = r.step;
    const float *p = r.p, *Pt = r.Pt, *Qt = r.Qt;
    float *x = r.x, *t = r.t, *v = v_all[w];
    for (int i = lane; i < N; i += 32) {
        float val = ml_sample_feature(g.seed[gi], stream, step, (uint64_t)b, N, i, p[i], is_abs);
        v[i] = val;
        if (!reproj) t[i] = is_abs ? fabsf(val) : val;
    }
    __syncwarp();
    for (int c = lane; c < m; c += 32) {
        float acc = 0.0f, acc_q = 0.0f;
        for (int i = 0; i < N; i++) {
            float val = v[i];
            if (val == 0.0f) continue;
            acc += val * Pt[(size_t)i * m + c];
            if (reproj) acc_q += val * Qt[(size_t)i * m + c];
        }
        x[c] = acc;
        if (reproj) t[c] = acc_q;
    }
}

void ml_k_sample(const ml_dev_group &g, uint32_t stream, ml_step_arg sa, int fast, float *X, float *T, cudaStream_t s) {
    dim3 grid(g.B, g.G);
    size_t smem = ml_sample_smem_bytes(g.N, fast);
    if (fast == ML_SAMPLE_TINY) {
        dim3 tgrid((g.B + ML_TINY_ROWS - 1) / ML_TINY_ROWS, g.G);
        ML_LAUNCH(sample_tiny_kernel, tgrid, 32 * ML_TINY_ROWS, 0, s)(g, stream, sa, X, T);
        cudaLaunchCheck("sample_tiny");
    } else if (fast) {
        ML_LAUNCH(sample_gather_kernel, grid, ML_SAMPLE_THREADS, smem, s)(g, stream, sa, X, T);
        cudaLaunchCheck("sample_gather");
    } else {
        ML_LAUNCH(sample_ref_kernel, grid, ML_SAMPLE_THREADS, smem, s)(g, stream, sa, X, T);
        cudaLaunchCheck("sample_ref");
    }
}

// ------------------------------------------------------------- forward
// PRE += b1; H = phi(PRE), over [G][rows][k].
__global__ void bias_act_kernel(ml_dev_group g, const float *params, float *PRE, float *H, int rows) {
    size_t n = (size_t)g.G * rows * g.k;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        int gi = (int)(e / ((size_t)rows * g.k)), j = (int)(e % g.k);
        if (g.frozen_at[gi] >= 0) continue;
        float z = PRE[e] + params[(size_t)gi * g.ld_param + g.off_b1 + j];
        PRE[e] = z;
        H[e] = ml_act_fwd(g.act, z);
    }
}

void ml_k_bias_act(const ml_dev_group &g, const float *params, float *PRE, float *H, int rows, cudaStream_t s) {
    ML_LAUNCH(bias_act_kernel, grid_for((size_t)g.G * rows * g.k), THREADS, 0, s)(g, params, PRE, H, rows);
    cudaLaunchCheck("bias_act");
}

// ------------------------------------------------------------- loss
// One warp per row: rowloss = lane sum of (y - t)^2; optionally Y <- 2 (y - t) / B.
__global__ void loss_grad_kernel(ml_dev_group g, float *Y, const float *T, double *rowloss, int make_grad) {
    const int lane = threadIdx.x & 31;
    const size_t row = (size_t)blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    if (row >= (size_t)g.G * g.B) return;
    const int gi = (int)(row / g.B);
    if (g.frozen_at[gi] >= 0) return;
    float *y = Y + row * g.out;
    const float *t = T + row * g.out;
    const float scale = 2.0f / (float)g.B;
    double acc = 0;
    for (int o = lane; o < g.out; o += 32) {
        float d = y[o] - t[o];
        acc += (double)d * d;
        if (make_grad) y[o] = scale * d;
    }
    acc = warp_fold(acc);
    if (lane == 0) rowloss[row] = acc;
}

void ml_k_loss_grad(const ml_dev_group &g, float *Y, const float *T, double *rowloss, int make_grad, cudaStream_t s) {
    const size_t rows = (size_t)g.G * g.B, per_block = THREADS / 32;
    ML_LAUNCH(loss_grad_kernel, (unsigned)((rows + per_block - 1) / per_block), THREADS, 0, s)(g, Y, T, rowloss, make_grad);
    cudaLaunchCheck("loss_grad");
}

// One warp per model: loss = lane sum of rowloss / B. A model whose loss is
// not finite freezes at this step, and a frozen model's loss reads NaN
// (the CPU does the same).
__global__ void reduce_loss_kernel(ml_dev_group g, const double *rowloss, double *loss, ml_step_arg sa, int freeze) {
    const int gi = blockIdx.x, lane = threadIdx.x;
    if (g.frozen_at[gi] >= 0) {
        if (lane == 0) loss[gi] = NAN;
        return;
    }
    double acc = 0;
    for (int b = lane; b < g.B; b += 32) acc += rowloss[(size_t)gi * g.B + b];
    acc = warp_fold(acc);
    if (lane == 0) {
        double tot = acc / g.B;
        if (freeze && !isfinite(tot)) {
            g.frozen_at[gi] = step_get(sa).step;
            tot = NAN;
        }
        loss[gi] = tot;
    }
}

void ml_k_reduce_loss(const ml_dev_group &g, const double *rowloss, double *loss, ml_step_arg sa, int freeze,
                      cudaStream_t s) {
    ML_LAUNCH(reduce_loss_kernel, g.G, 32, 0, s)(g, rowloss, loss, sa, freeze);
    cudaLaunchCheck("reduce_loss");
}

// ------------------------------------------------------------- backward
// dPRE = (dH + l1/B sign(h)) * phi'(pre), the one definition both the
// plain and the fused pass use.
__device__ __forceinline__ float act_backward(const ml_dev_group &g, int gi, float dh, float h, float pre) {
    float reg = g.l1[gi] / (float)g.B;
    if (reg != 0.0f) dh += reg * ml_sign(h);
    return dh * ml_act_grad(g.act, pre);
}

__global__ void act_backward_kernel(ml_dev_group g, float *dH, const float *H, const float *PRE) {
    size_t n = (size_t)g.G * g.B * g.k;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        int gi = (int)(e / ((size_t)g.B * g.k));
        if (g.frozen_at[gi] >= 0) continue;
        dH[e] = act_backward(g, gi, dH[e], H[e], PRE[e]);
    }
}

void ml_k_act_backward(const ml_dev_group &g, float *dH, const float *H, const float *PRE, cudaStream_t s) {
    ML_LAUNCH(act_backward_kernel, grid_for((size_t)g.G * g.B * g.k), THREADS, 0, s)(g, dH, H, PRE);
    cudaLaunchCheck("act_backward");
}

// Stage 1, one thread per (model, slab, neuron), neuron fastest so that a
// warp reads consecutive columns of a row: part = sum over the slab's rows
// in order. fused: dH -> dPRE on the way (the element is read once).
template <bool FUSED>
__global__ void bias_grad_slab_kernel(ml_dev_group g, float *dP, const float *H, const float *PRE, float *part) {
    const int n_slab = ml_db1_slabs(g.B);
    const size_t n = (size_t)g.G * n_slab * g.k;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        const int j = (int)(e % g.k), sl = (int)(e / g.k % n_slab), gi = (int)(e / ((size_t)g.k * n_slab));
        if (g.frozen_at[gi] >= 0) continue;
        const int b0 = sl * ML_DB1_SLAB, b1 = min(b0 + ML_DB1_SLAB, g.B);
        float acc = 0.0f;
        for (int b = b0; b < b1; b++) {
            const size_t at = ((size_t)gi * g.B + b) * g.k + j;
            float d = dP[at];
            if (FUSED) {
                d = act_backward(g, gi, d, H[at], PRE[at]);
                dP[at] = d;
            }
            acc += d;
        }
        part[e] = acc;
    }
}

// Stage 2, one thread per (model, neuron): db1 = slab partials in order.
// A grid-stride loop like every launch sized by grid_for, whose grid is
// capped: G*k beyond the cap (or MONOLAB_GRID_CAP in the tests) must not
// leave neurons without a bias gradient.
__global__ void bias_grad_sum_kernel(ml_dev_group g, const float *part, float *grads) {
    const int n_slab = ml_db1_slabs(g.B);
    const size_t n = (size_t)g.G * g.k;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        int gi = (int)(e / g.k), j = (int)(e % g.k);
        if (g.frozen_at[gi] >= 0) continue;
        const float *p = part + (size_t)gi * n_slab * g.k + j;
        float acc = 0.0f;
        for (int sl = 0; sl < n_slab; sl++) acc += p[(size_t)sl * g.k];
        grads[(size_t)gi * g.ld_param + g.off_b1 + j] = acc;
    }
}

void ml_k_bias_grad(const ml_dev_group &g, float *dPRE, const float *H, const float *PRE, int fused, float *part,
                    float *grads, cudaStream_t s) {
    const size_t n1 = (size_t)g.G * ml_db1_slabs(g.B) * g.k;
    if (fused) {
        ML_LAUNCH(bias_grad_slab_kernel<true>, grid_for(n1), THREADS, 0, s)(g, dPRE, H, PRE, part);
        cudaLaunchCheck("bias_grad_slab_fused");
    } else {
        ML_LAUNCH(bias_grad_slab_kernel<false>, grid_for(n1), THREADS, 0, s)(g, dPRE, H, PRE, part);
        cudaLaunchCheck("bias_grad_slab");
    }
    ML_LAUNCH(bias_grad_sum_kernel, grid_for((size_t)g.G * g.k), THREADS, 0, s)(g, part, grads);
    cudaLaunchCheck("bias_grad_sum");
}

// ------------------------------------------------------------- optimiser
// One warp per (chunk, model), OPT_WARPS chunks per block: moments and, for
// LAMB, the direction a (into grads) and the chunk's partial norms as lane
// sums (elementwise.h); Adam/AdamW update in place, with bias decay.
#define OPT_WARPS 8
__global__ void opt_pass1_kernel(ml_dev_group g, int optimizer, float weight_decay, float *params, float *grads,
                                 float *m1, float *m2, double *part_p, double *part_a, int n_chunks,
                                 ml_step_arg sa) {
    const int lane = threadIdx.x & 31, c = blockIdx.x * OPT_WARPS + (threadIdx.x >> 5), gi = blockIdx.y;
    if (c >= n_chunks || g.frozen_at[gi] >= 0) return;
    size_t lo, hi;
    int tensor;
    ml_opt_chunk(g.off_b1, g.off_W2, g.n_param, (size_t)c, &lo, &hi, &tensor);
    size_t base = (size_t)gi * g.ld_param;
    // Four distinct buffers: restrict and register copies let every load of
    // an element be issued before its stores (otherwise each store could
    // alias the next load, a round trip to memory apiece). The arithmetic
    // is the CPU twin's, in the same order.
    float *__restrict__ p = params + base, *__restrict__ gr = grads + base, *__restrict__ mm = m1 + base,
                        *__restrict__ vv = m2 + base;
    if (optimizer == OPT_LAMB) {
        double pp = 0, aa = 0;
        for (size_t i = lo + lane; i < hi; i += 32) {
            float gv = gr[i], mv = mm[i], vv_i = vv[i], pv = p[i];
            float a = ml_lamb_dir(gv, &mv, &vv_i);
            mm[i] = mv;
            vv[i] = vv_i;
            gr[i] = a;
            pp += (double)pv * pv;
            aa += (double)a * a;
        }
        pp = warp_fold(pp);
        aa = warp_fold(aa);
        if (lane == 0) {
            part_p[(size_t)gi * n_chunks + c] = pp;
            part_a[(size_t)gi * n_chunks + c] = aa;
        }
        return;
    }
    const ml_step_params sp = step_get(sa);
    const float lr = g.lr[gi] * sp.sched;
    const float wdf = optimizer == OPT_ADAMW ? 1.0f - lr * weight_decay : 1.0f;
    const float f = ml_bias_decay_factor(g.decay[gi], g.lr[gi]);
    for (size_t i = lo + lane; i < hi; i += 32) {
        float mv = mm[i], vv_i = vv[i];
        float q = ml_adam_update(p[i], gr[i], &mv, &vv_i, lr, sp.bc1, sp.bc2s, wdf);
        if (sp.decay_on && tensor == ML_TENSOR_B1) q *= f; // after the update (docs/science.md §1.7), as the CPU
        mm[i] = mv;
        vv[i] = vv_i;
        p[i] = q;
    }
}

// One thread per model: per-tensor trust ratios from the partials, in order
// (the same function as the CPU's).
__global__ void lamb_ratio_kernel(ml_dev_group g, const double *part_p, const double *part_a, int n_chunks,
                                  float *ratio) {
    int gi = blockIdx.x * blockDim.x + threadIdx.x;
    if (gi >= g.G || g.frozen_at[gi] >= 0) return;
    ml_lamb_ratios(g.off_b1, g.off_W2, g.n_param, part_p + (size_t)gi * n_chunks, part_a + (size_t)gi * n_chunks,
                   n_chunks, ratio + gi * 3);
}

// LAMB pass 2: p -= (lr_t * ratio) * a, then bias decay on b1, as the CPU.
__global__ void lamb_apply_kernel(ml_dev_group g, float *params, const float *dir, const float *ratio,
                                  ml_step_arg sa) {
    const ml_step_params sp = step_get(sa);
    size_t n = (size_t)g.G * g.n_param;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        int gi = (int)(e / g.n_param);
        size_t i = e % g.n_param;
        if (g.frozen_at[gi] >= 0) continue;
        int t = i < g.off_b1 ? ML_TENSOR_W1 : i < g.off_W2 ? ML_TENSOR_B1 : ML_TENSOR_W2;
        const float step_size = g.lr[gi] * sp.sched * ratio[gi * 3 + t];
        const size_t at = (size_t)gi * g.ld_param + i;
        float q = params[at] - step_size * dir[at];
        if (sp.decay_on && t == ML_TENSOR_B1) q *= ml_bias_decay_factor(g.decay[gi], g.lr[gi]);
        params[at] = q;
    }
}

void ml_k_optimize(const ml_dev_group &g, int optimizer, float weight_decay, float *params, float *grads, float *m1,
                   float *m2, double *part_p, double *part_a, float *ratio, ml_step_arg sa, cudaStream_t s) {
    int nc = ml_opt_n_chunks(g.off_b1, g.off_W2, g.n_param);
    dim3 grid((nc + OPT_WARPS - 1) / OPT_WARPS, g.G);
    ML_LAUNCH(opt_pass1_kernel, grid, 32 * OPT_WARPS, 0, s)(g, optimizer, weight_decay, params, grads, m1, m2, part_p,
                                                     part_a, nc, sa);
    cudaLaunchCheck("opt_pass1");
    if (optimizer != OPT_LAMB) return;
    ML_LAUNCH(lamb_ratio_kernel, (g.G + 127) / 128, 128, 0, s)(g, part_p, part_a, nc, ratio);
    cudaLaunchCheck("lamb_ratio");
    ML_LAUNCH(lamb_apply_kernel, grid_for((size_t)g.G * g.n_param), THREADS, 0, s)(g, params, grads, ratio, sa);
    cudaLaunchCheck("lamb_apply");
}

// ------------------------------------------------------------- metric, steps
// S[g][j][i] = phi(S + b1[j]) for the single-feature activations.
__global__ void sfa_act_kernel(ml_dev_group g, const float *params, float *S) {
    size_t n = (size_t)g.G * g.k * g.N;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        int gi = (int)(e / ((size_t)g.k * g.N)), j = (int)(e / g.N % g.k);
        S[e] = ml_act_fwd(g.act, S[e] + params[(size_t)gi * g.ld_param + g.off_b1 + j]);
    }
}

void ml_k_sfa_act(const ml_dev_group &g, const float *params, float *S, cudaStream_t s) {
    ML_LAUNCH(sfa_act_kernel, grid_for((size_t)g.G * g.k * g.N), THREADS, 0, s)(g, params, S);
    cudaLaunchCheck("sfa_act");
}

__global__ void step_fill_kernel(const ml_step_params *table, long long *counter, ml_step_params *sp) {
    *sp = table[*counter];
    *counter += 1;
}

void ml_k_step_fill(const ml_step_params *table, long long *counter, ml_step_params *sp, cudaStream_t s) {
    ML_LAUNCH(step_fill_kernel, 1, 1, 0, s)(table, counter, sp);
    cudaLaunchCheck("step_fill");
}
