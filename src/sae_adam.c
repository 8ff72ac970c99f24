#include "monolab/sae_adam.h"
#include "monolab/elementwise.h"
#include <math.h>

void ml_adam_step(float *p, const float *g, float *m, float *v, long n, float lr, long t1) {
    const float bc1 = 1.0f - powf(ML_BETA1, (float)t1);
    const float bc2s = sqrtf(1.0f - powf(ML_BETA2, (float)t1));
    for (long i = 0; i < n; i++) p[i] = ml_adam_update(p[i], g[i], &m[i], &v[i], lr, bc1, bc2s, 1.0f);
}
