/* L_N and h̄ (see sae_ln.h). Latent by latent: the latent's encoder column
 * is gathered once, then its active examples are visited in batch order;
 * sums in double, in a fixed order. */
#include "monolab/sae_ln.h"
#include "monolab/common.h"
#include <math.h>
#include <stdlib.h>

double ml_sae_ln_grad(int d, int n, int B, const float *X, const float *A, const float *W_enc, const float *hbar,
                      const unsigned char *hset, float scale, float *gW_enc) {
    double *w = ml_malloc(sizeof(double) * d), *g = ml_malloc(sizeof(double) * d);
    double total = 0;
    for (int j = 0; j < n; j++) {
        if (!hset[j]) continue;
        const float *hb = hbar + (size_t)j * d;
        for (int c = 0; c < d; c++) { w[c] = W_enc[(size_t)c * n + j]; g[c] = 0; }
        int any = 0;
        for (int b = 0; b < B; b++) {
            if (!(A[(size_t)b * n + j] > 0.0f)) continue;
            const float *x = X + (size_t)b * d;
            double uu = 0, vv = 0, uv = 0;
            for (int c = 0; c < d; c++) {
                double u = hb[c] * w[c], v = x[c] * w[c];
                uu += u * u; vv += v * v; uv += u * v;
            }
            double nn = sqrt(uu) * sqrt(vv);
            if (!(nn > 0)) { total += 1.0; continue; }
            double cs = uv / nn;
            total += 1.0 - cs;
            /* d cos/dw = h̄ ⊙ (v/(|u||v|) - cos u/|u|²) + x ⊙ (u/(|u||v|) - cos v/|v|²) */
            for (int c = 0; c < d; c++) {
                double u = hb[c] * w[c], v = x[c] * w[c];
                g[c] -= hb[c] * (v / nn - cs * u / uu) + x[c] * (u / nn - cs * v / vv);
            }
            any = 1;
        }
        if (any)
            for (int c = 0; c < d; c++) gW_enc[(size_t)c * n + j] += (float)(scale * g[c] / B);
    }
    free(w);
    free(g);
    return total / B;
}

void ml_sae_hbar_update(int d, int n, int B, const float *X, const float *A, float *hbar, unsigned char *hset) {
    for (int j = 0; j < n; j++) {
        float *hb = hbar + (size_t)j * d;
        for (int b = 0; b < B; b++) {
            if (!(A[(size_t)b * n + j] > 0.0f)) continue;
            const float *x = X + (size_t)b * d;
            if (!hset[j]) {
                for (int c = 0; c < d; c++) hb[c] = x[c];
                hset[j] = 1;
            } else {
                for (int c = 0; c < d; c++) hb[c] = 0.9f * hb[c] + 0.1f * x[c];
            }
        }
    }
}
