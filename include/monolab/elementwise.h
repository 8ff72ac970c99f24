/* Per-element math shared by the CPU backend and the CUDA kernels, so the
 * two twins cannot drift: activations and their derivatives, the sampler's
 * per-feature rule, and the optimiser updates (SPEC §1.4, §1.1, §1.7). */
#ifndef MONOLAB_ELEMENTWISE_H
#define MONOLAB_ELEMENTWISE_H
#include "monolab/philox.h"
#include <math.h>
#include <stddef.h>


/* act: 0 relu, 1 gelu (exact erf form), 2 solu (z * exp(z), no softmax). */
ML_HD float ml_act_fwd(int act, float z) {
    if (act == 0) return z > 0.0f ? z : 0.0f;
    if (act == 1) return 0.5f * z * (1.0f + erff(z * 0.70710678118654752f));
    return z * expf(z);
}

/* Activations of layers read by `monolab embed`: -1 none (identity), 0-2 as
 * above, 3 GPT-2's gelu_new (tanh approximation). */
#define ML_ACT_NONE (-1)
#define ML_ACT_GELU_NEW 3
ML_HD float ml_act_any(int act, float z) {
    if (act == ML_ACT_NONE) return z;
    if (act == ML_ACT_GELU_NEW) return 0.5f * z * (1.0f + tanhf(0.7978845608028654f * (z + 0.044715f * z * z * z)));
    return ml_act_fwd(act, z);
}

/* d phi / dz. ReLU's derivative at 0 is 0, as in PyTorch. */
ML_HD float ml_act_grad(int act, float z) {
    if (act == 0) return z > 0.0f ? 1.0f : 0.0f;
    if (act == 1) {
        float cdf = 0.5f * (1.0f + erff(z * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * expf(-0.5f * z * z);
        return cdf + z * pdf;
    }
    return expf(z) * (1.0f + z);
}

/* d|h|/dh as torch.abs: sign, and 0 at 0. */
ML_HD float ml_sign(float h) { return h > 0.0f ? 1.0f : (h < 0.0f ? -1.0f : 0.0f); }

/* Feature value for one (sample, feature) draw: active with probability p,
 * value U[0,1). The abs task uses words 2,3 for the second sample v2. */
ML_HD float ml_feature_value(ml_u32x4 w, float p, int is_abs) {
    float v = ml_u01(w.v[0]) < p ? ml_u01(w.v[1]) : 0.0f;
    if (is_abs) v -= ml_u01(w.v[2]) < p ? ml_u01(w.v[3]) : 0.0f;
    return v;
}

/* Feature i of sample b of (stream, step) for a model: the one definition
 * of the data stream (counter index = b * N + i). */
ML_HD float ml_sample_feature(uint64_t seed, uint32_t stream, uint32_t step, uint64_t b, int N, int i, float p,
                              int is_abs) {
    return ml_feature_value(ml_draw(seed, stream, step, b * (uint64_t)N + (uint64_t)i), p, is_abs);
}

/* Optimiser constants (torch_optimizer.Lamb 0.3 and torch.optim.Adam defaults). */
#define ML_BETA1 0.9f
#define ML_BETA2 0.999f
#define ML_LAMB_EPS 1e-6f
#define ML_ADAM_EPS 1e-8f
#define ML_LAMB_CLAMP 10.0f

/* LAMB first pass: moments, returns the Adam-like direction a. */
ML_HD float ml_lamb_dir(float g, float *m, float *v) {
    *m = ML_BETA1 * *m + (1.0f - ML_BETA1) * g;
    *v = ML_BETA2 * *v + (1.0f - ML_BETA2) * g * g;
    return *m / (sqrtf(*v) + ML_LAMB_EPS);
}

/* LAMB trust ratio from the squared norms of p and a. */
ML_HD float ml_lamb_ratio(double p2, double a2) {
    float pn = (float)sqrt(p2), an = (float)sqrt(a2);
    if (pn > ML_LAMB_CLAMP) pn = ML_LAMB_CLAMP;
    return (pn == 0.0f || an == 0.0f) ? 1.0f : pn / an;
}

/* Adam / AdamW with bias correction; t1 is the 1-based step. wd_factor is
 * 1 - lr*weight_decay for AdamW, 1 for Adam. */
ML_HD float ml_adam_update(float p, float g, float *m, float *v, float lr, float bc1, float bc2_sqrt, float wd_factor) {
    p *= wd_factor;
    *m = ML_BETA1 * *m + (1.0f - ML_BETA1) * g;
    *v = ML_BETA2 * *v + (1.0f - ML_BETA2) * g * g;
    float denom = sqrtf(*v) / bc2_sqrt + ML_ADAM_EPS;
    return p - (lr / bc1) * (*m / denom);
}

/* Reduction orders shared by both backends, so that the sums they feed
 * (loss per row and per model, LAMB norm partials) are the same bits on
 * the CPU and the GPU:
 *
 * - a sum of doubles runs in ML_LANES lanes: lane l adds terms l, l+32,
 *   l+64, ... in order, starting from 0; the lanes are then folded as a
 *   warp's shuffle-down tree folds them (lane[l] += lane[l+w] for w = 16,
 *   8, 4, 2, 1). One CUDA warp runs exactly this; the CPU runs the same
 *   additions in the same order with an array of 32 lanes.
 * - the bias gradient db1[j] = sum_b dPRE[b][j] is a float sum over slabs
 *   of ML_DB1_SLAB batch rows: each slab is summed in row order from 0,
 *   then the slab partials are added in slab order from 0. The GPU runs
 *   one thread per (model, slab, neuron) and then one per (model, neuron),
 *   the CPU the same sums in one loop. */
#define ML_LANES 32
#define ML_DB1_SLAB 256
ML_HD int ml_db1_slabs(int B) { return (B + ML_DB1_SLAB - 1) / ML_DB1_SLAB; }
ML_HD double ml_lanes_fold(double *lane) {
    for (int w = ML_LANES / 2; w > 0; w >>= 1)
        for (int l = 0; l < w; l++) lane[l] += lane[l + w];
    return lane[0];
}

/* Adam's bias corrections for the 1-based step t1, computed on the host by
 * both backends (the device's powf may differ from libm's in the last
 * bit). bc2_sqrt = sqrt(1 - beta2^t1). */
static inline void ml_adam_bias_corr(long t1, float *bc1, float *bc2_sqrt) {
    *bc1 = 1.0f - powf(ML_BETA1, (float)t1);
    *bc2_sqrt = sqrtf(1.0f - powf(ML_BETA2, (float)t1));
}

/* The optimiser's fixed reduction chunks: chunk c of a model's parameters
 * -> [lo, hi) and its tensor (0 W1, 1 b1, 2 W2). Chunks never straddle a
 * tensor, so per-tensor norms are ordered sums of chunk partials on both
 * backends, whatever the thread count; within a chunk the partial is an
 * ML_LANES lane sum (above), the same bits on both backends. */
#define ML_OPT_CHUNK 8192
ML_HD int ml_opt_n_chunks(size_t off_b1, size_t off_W2, size_t n_param) {
    return (int)((off_b1 + ML_OPT_CHUNK - 1) / ML_OPT_CHUNK + (off_W2 - off_b1 + ML_OPT_CHUNK - 1) / ML_OPT_CHUNK +
                 (n_param - off_W2 + ML_OPT_CHUNK - 1) / ML_OPT_CHUNK);
}
ML_HD void ml_opt_chunk(size_t off_b1, size_t off_W2, size_t n_param, size_t c, size_t *lo, size_t *hi, int *tensor) {
    size_t starts[3] = {0, off_b1, off_W2}, ends[3] = {off_b1, off_W2, n_param};
    for (int t = 0; t < 3; t++) {
        size_t n = (ends[t] - starts[t] + ML_OPT_CHUNK - 1) / ML_OPT_CHUNK;
        if (c < n) {
            *lo = starts[t] + c * ML_OPT_CHUNK;
            *hi = *lo + ML_OPT_CHUNK < ends[t] ? *lo + ML_OPT_CHUNK : ends[t];
            *tensor = t;
            return;
        }
        c -= n;
    }
    *lo = *hi = 0;
    *tensor = 0;
}

#endif
