/* Per-element math shared by the CPU backend and the CUDA kernels, so the
 * two twins cannot drift: activations and their derivatives, the sampler's
 * per-feature rule, and the optimiser updates (docs/science.md §1.4, §1.1, §1.7). */
#ifndef MONOLAB_ELEMENTWISE_H
#define MONOLAB_ELEMENTWISE_H
#include "monolab/philox.h"
#include "monolab/vocab.h"
#include <math.h>
#include <stddef.h>


/* act: an ml_act the models train with: ACT_RELU, ACT_GELU (exact erf
 * form) or ACT_SOLU (z * exp(z), no softmax). */
ML_HD float ml_act_fwd(int act, float z) {
    if (act == ACT_RELU) return z > 0.0f ? z : 0.0f;
    if (act == ACT_GELU) return 0.5f * z * (1.0f + erff(z * 0.70710678118654752f));
    return z * expf(z);
}

/* Activations of layers read by `monolab embed`: also ACT_NONE (identity)
 * and ACT_GELU_NEW (GPT-2's tanh approximation). Evaluated in double and
 * rounded to float once, because selection compares them with a threshold
 * and the CPU and CUDA twins must select the same examples: erff, expf and
 * tanhf differ in the last float bit between the host's libm and CUDA's,
 * while their double versions are within 2 double ulps of each other, so
 * the rounded floats differ only where a double lands within those ulps of
 * a float rounding boundary (about 2^-28 of evaluations). Training keeps
 * ml_act_fwd in float: there the twins are compared within a tolerance. */
ML_HD double ml_act_d(int act, double x) {
    if (act == ACT_NONE) return x;
    if (act == ACT_RELU) return x > 0 ? x : 0;
    if (act == ACT_GELU) return 0.5 * x * (1.0 + erf(x * 0.70710678118654752));
    if (act == ACT_GELU_NEW) return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
    return x * exp(x); /* ACT_SOLU */
}
ML_HD float ml_act_any(int act, float z) { return (float)ml_act_d(act, z); }

/* d phi / dz. ReLU's derivative at 0 is 0, as in PyTorch. */
ML_HD float ml_act_grad(int act, float z) {
    if (act == ACT_RELU) return z > 0.0f ? 1.0f : 0.0f;
    if (act == ACT_GELU) {
        float cdf = 0.5f * (1.0f + erff(z * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * expf(-0.5f * z * z);
        return cdf + z * pdf;
    }
    return expf(z) * (1.0f + z);
}

/* d|h|/dh as torch.abs: sign, and 0 at 0. */
ML_HD float ml_sign(float h) { return h > 0.0f ? 1.0f : (h < 0.0f ? -1.0f : 0.0f); }

/* Feature value for one (sample, feature) draw of words w0..w3: active
 * with probability p, value U[0,1). The abs task uses words 2,3 for the
 * second sample v2. The words come as four numbers rather than an
 * ml_u32x4 so that the CPU sampler's loop over 8 lanes of words
 * (philox_x8.h) vectorises. */
ML_HD float ml_feature_value(uint32_t w0, uint32_t w1, uint32_t w2, uint32_t w3, float p, int is_abs) {
    float v = ml_u01(w0) < p ? ml_u01(w1) : 0.0f;
    if (is_abs) v -= ml_u01(w2) < p ? ml_u01(w3) : 0.0f;
    return v;
}

/* Feature i of sample b of (stream, step) for a model: the one definition
 * of the data stream (counter index = b * N + i). */
ML_HD float ml_sample_feature(uint64_t seed, uint32_t stream, uint32_t step, uint64_t b, int N, int i, float p,
                              int is_abs) {
    ml_u32x4 w = ml_draw(seed, stream, step, b * (uint64_t)N + (uint64_t)i);
    return ml_feature_value(w.v[0], w.v[1], w.v[2], w.v[3], p, is_abs);
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

/* lr multiplier for 0-based step t: (1 + cos(pi t / T_max)) / 2, or 1.
 * Here, beside the optimiser's other per-step numbers, so that the CUDA
 * backend's step table and the training loop share it without the backend
 * reaching up into the loop (src/train.c). */
ML_HD double ml_schedule(ml_sched kind, int t_max, long t) {
    if (kind == SCHED_CONSTANT) return 1.0;
    return 0.5 * (1.0 + cos(M_PI * (double)t / (double)t_max));
}

/* Bias decay is on during the first half of training: t < steps/2
 * (docs/science.md §1.7). */
ML_HD int ml_decay_on(long t, long steps) { return 2 * t < steps; }

/* The bias-decay factor b1 is multiplied by after a step in the first half
 * of training: it uses the base lr, not the scheduled one (docs/science.md §1.7). */
ML_HD float ml_bias_decay_factor(float decay, float lr) { return 1.0f - decay * lr; }

/* Adam's bias corrections for 0-based step: 1 - beta1^t and
 * sqrt(1 - beta2^t), t = step + 1. */
ML_HD void ml_adam_bias_correction(long step, float *bc1, float *bc2_sqrt) {
    const float t1 = (float)((int)step + 1);
    *bc1 = 1.0f - powf(ML_BETA1, t1);
    *bc2_sqrt = sqrtf(1.0f - powf(ML_BETA2, t1));
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

/* The three parameter tensors of a model, in their layout order. */
enum { ML_TENSOR_W1, ML_TENSOR_B1, ML_TENSOR_W2 };

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


/* The optimiser's fixed reduction chunks: chunk c of a model's parameters
 * -> [lo, hi) and its tensor (ML_TENSOR_*). Chunks never straddle a
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

/* LAMB's three per-tensor trust ratios of one model from its chunk partial
 * norms (n_chunks each), summed in chunk order: the same order on every
 * backend and for any thread count. */
ML_HD void ml_lamb_ratios(size_t off_b1, size_t off_W2, size_t n_param, const double *part_p, const double *part_a,
                          int n_chunks, float *ratio) {
    double pp[3] = {0, 0, 0}, aa[3] = {0, 0, 0};
    for (int c = 0; c < n_chunks; c++) {
        size_t lo, hi;
        int t;
        ml_opt_chunk(off_b1, off_W2, n_param, (size_t)c, &lo, &hi, &t);
        pp[t] += part_p[c];
        aa[t] += part_a[c];
    }
    for (int t = 0; t < 3; t++) ratio[t] = ml_lamb_ratio(pp[t], aa[t]);
}

#endif
