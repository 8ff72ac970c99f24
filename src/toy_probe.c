/* Probe inputs for `monolab embed` on toy checkpoints. The training
 * distribution is the default; the sparser ones exist because the choice of
 * examples is part of the neuron-embedding metric: with several features
 * active per input, an example's embedding mixes features, and a neuron
 * may be selected only by combinations (docs/science.md §3). */
#include "monolab/common.h"
#include "monolab/philox.h"
#include "monolab/toy_probe.h"
#include <cblas.h>
#include <string.h>

/* Uniform integer in [0, n) from one 32-bit word (multiply-shift). */
static int pick(uint32_t w, int n) { return (int)(((uint64_t)w * (uint64_t)n) >> 32); }

void ml_probe_inputs(const ml_checkpoint *c, uint64_t seed, ml_probe kind, int B, float *V, float *X) {
    const ml_run *r = &c->run;
    const int N = r->N, m = r->m;
    if (kind == PROBE_TRAINING) {
        ml_checkpoint_inputs(c, seed, B, V, X);
        return;
    }
    memset(V, 0, sizeof(float) * (size_t)B * N);
    /* Counter steps 1 (features, values) and 2 (signs) of the probe stream,
     * indexed by sample: disjoint from the training probe's step 0. */
    for (int b = 0; b < B; b++) {
        ml_u32x4 w = ml_draw(seed, ML_STREAM_PROBE, 1, (uint64_t)b), s = ml_draw(seed, ML_STREAM_PROBE, 2, (uint64_t)b);
        int i = pick(w.v[0], N);
        float *v = V + (size_t)b * N;
        v[i] = ml_u01(w.v[1]);
        if (r->task == TASK_ABS && (s.v[0] >> 31)) v[i] = -v[i];
        if (kind == PROBE_PAIR && N > 1) {
            int i2 = pick(w.v[2], N - 1);
            i2 += i2 >= i; /* a feature other than i, uniformly */
            v[i2] = ml_u01(w.v[3]);
            if (r->task == TASK_ABS && (s.v[1] >> 31)) v[i2] = -v[i2];
        }
    }
    /* X = V Pᵀ, P being m x N */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, m, N, 1.0f, V, N, c->P, N, 0.0f, X, m);
}
