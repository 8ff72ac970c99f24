#include "monolab/model_init.h"
#include "monolab/common.h"
#include "monolab/philox.h"
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Box-Muller on two 32-bit words, in double. Only the host draws normals,
 * so no device twin has to match this bit for bit. */
static double normal_from(uint32_t a, uint32_t b) {
    double u = ((double)a + 0.5) / 4294967296.0; /* (0,1): log is finite */
    double v = ((double)b + 0.5) / 4294967296.0;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

double ml_normal(uint64_t seed, uint32_t stream, uint64_t i) {
    ml_u32x4 w = ml_draw(seed, stream, 0, i);
    return normal_from(w.v[0], w.v[1]);
}

void ml_embedder_gaussian(uint64_t seed, uint32_t stream, int N, int m, double *G) {
    for (size_t i = 0; i < (size_t)N * m; i++) G[i] = ml_normal(seed, stream, i);
}

void ml_embedder(uint64_t seed, uint32_t stream, int N, int m, float *Pt) {
    double *U = ml_malloc(sizeof(double) * (size_t)N * m);
    double *tau = ml_malloc(sizeof(double) * (size_t)m);
    ml_embedder_gaussian(seed, stream, N, m, U);
    /* Thin QR: Q spans G's columns, so U Uᵀ equals the SVD construction's. */
    lapack_int info = LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, N, m, U, m, tau);
    if (info == 0) info = LAPACKE_dorgqr(LAPACK_ROW_MAJOR, N, m, m, U, m, tau);
    if (info != 0) ml_fatal("LAPACK QR of the %dx%d embedder failed (info=%d)", N, m, (int)info);
    for (int i = 0; i < N; i++) {
        double nrm = 0;
        for (int c = 0; c < m; c++) nrm += U[(size_t)i * m + c] * U[(size_t)i * m + c];
        nrm = sqrt(nrm);
        double inv = nrm > 0 ? 1.0 / nrm : 0.0;
        for (int c = 0; c < m; c++) Pt[(size_t)i * m + c] = (float)(U[(size_t)i * m + c] * inv);
    }
    free(U);
    free(tau);
}

/* U(-a, a) from one word, the same way for every parameter. */
static float uniform_pm(uint32_t w, float a) { return (2.0f * ml_u01(w) - 1.0f) * a; }

void ml_init_params(const ml_run *r, float *params) {
    int out = ml_run_out_dim(r);
    size_t nW1 = (size_t)r->k * r->m, nb1 = (size_t)r->k, nW2 = (size_t)out * r->k;
    float a1 = 1.0f / sqrtf((float)r->m), a2 = 1.0f / sqrtf((float)r->k);
    for (size_t i = 0; i < nW1 + nb1 + nW2; i++) {
        ml_u32x4 w = ml_draw(r->seed, ML_STREAM_INIT, 0, i);
        params[i] = uniform_pm(w.v[0], i < nW1 + nb1 ? a1 : a2);
    }
    for (size_t j = 0; j < nb1; j++) params[nW1 + j] += (float)r->bias_offset;
}

void ml_feature_probs(const ml_run *r, float *p) {
    double dens = r->task == TASK_ABS ? r->eps / 2 : r->eps;
    if (r->sampling == SAMPLE_UNIFORM) {
        for (int i = 0; i < r->N; i++) p[i] = (float)dens;
        return;
    }
    double z = 0;
    for (int i = 1; i <= r->N; i++) z += pow(i, -1.1);
    double c = r->N * dens / z; /* before clipping; not renormalised after */
    for (int i = 1; i <= r->N; i++) {
        double q = c * pow(i, -1.1);
        p[i - 1] = (float)(q < 1 ? q : 1);
    }
}
