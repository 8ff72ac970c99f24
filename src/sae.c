/* SAE parameters: layout, initialisation, decoder normalisation. */
#include "monolab/sae.h"
#include "monolab/philox.h"
#include <math.h>
#include <string.h>

ml_sae_layout ml_sae_layout_of(int d, int n) {
    ml_sae_layout l;
    l.W_enc = 0;
    l.b_enc = (size_t)d * n;
    l.W_dec = l.b_enc + (size_t)n;
    l.b_dec = l.W_dec + (size_t)n * d;
    l.n_param = l.b_dec + (size_t)d;
    return l;
}

void ml_sae_normalize_dec(float *W_dec, int n, int d) {
    for (int j = 0; j < n; j++) {
        float *r = W_dec + (size_t)j * d;
        double s = 0;
        for (int c = 0; c < d; c++) s += (double)r[c] * r[c];
        if (s > 0) {
            float inv = (float)(1.0 / sqrt(s));
            for (int c = 0; c < d; c++) r[c] *= inv;
        }
    }
}

void ml_sae_init(int d, int n, uint64_t seed, float *params) {
    ml_sae_layout l = ml_sae_layout_of(d, n);
    memset(params, 0, sizeof(float) * l.n_param);
    float *W_dec = params + l.W_dec, *W_enc = params + l.W_enc;
    for (size_t i = 0; i < (size_t)n * d; i++) W_dec[i] = 2.0f * ml_u01(ml_draw(seed, ML_STREAM_SAE_INIT, 0, i).v[0]) - 1.0f;
    ml_sae_normalize_dec(W_dec, n, d);
    for (int j = 0; j < n; j++)
        for (int c = 0; c < d; c++) W_enc[(size_t)c * n + j] = W_dec[(size_t)j * d + c];
}
