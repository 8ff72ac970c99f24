/* The base MLP of `monolab sae`: forward, cross-entropy gradient, Adam,
 * training loop and checkpoint. Single model, BLAS does the products. */
#include "monolab/sae_mlp.h"
#include "monolab/sae_adam.h"
#include "monolab/common.h"
#include "monolab/philox.h"
#include "monolab/safetensors.h"
#include "monolab/sae_shuffle.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_views(ml_mlp *m) {
    m->W1 = m->params;
    m->b1 = m->W1 + (size_t)m->hidden * m->d_in;
    m->W2 = m->b1 + m->hidden;
    m->b2 = m->W2 + (size_t)m->n_out * m->hidden;
}

static void alloc(ml_mlp *m, int d_in, int hidden, int n_out) {
    m->d_in = d_in;
    m->hidden = hidden;
    m->n_out = n_out;
    m->n_param = (long)hidden * d_in + hidden + (long)n_out * hidden + n_out;
    m->params = ml_malloc(sizeof(float) * (size_t)m->n_param);
    set_views(m);
}

void ml_mlp_init(ml_mlp *m, int d_in, int hidden, int n_out, uint64_t seed) {
    alloc(m, d_in, hidden, n_out);
    const long first = (long)hidden * d_in + hidden; /* W1 and b1 have fan_in d_in */
    const float a1 = 1.0f / sqrtf((float)d_in), a2 = 1.0f / sqrtf((float)hidden);
    for (long i = 0; i < m->n_param; i++) {
        ml_u32x4 w = ml_draw(seed, ML_STREAM_MLP_INIT, 0, (uint64_t)i);
        m->params[i] = (2.0f * ml_u01(w.v[0]) - 1.0f) * (i < first ? a1 : a2);
    }
}

void ml_mlp_free(ml_mlp *m) {
    free(m->params);
    memset(m, 0, sizeof *m);
}

/* PRE = X W1ᵀ + b1 and H = relu(PRE) (PRE may be NULL). */
static void forward_hidden(const ml_mlp *m, const float *X, int n, float *PRE, float *H) {
    const int k = m->hidden;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, m->d_in, 1.0f, X, m->d_in, m->W1, m->d_in, 0.0f, H, k);
    for (size_t r = 0; r < (size_t)n; r++)
        for (int j = 0; j < k; j++) {
            float z = H[r * k + j] + m->b1[j];
            if (PRE) PRE[r * k + j] = z;
            H[r * k + j] = z > 0.0f ? z : 0.0f;
        }
}

/* L = H W2ᵀ + b2. */
static void logits(const ml_mlp *m, const float *H, int n, float *L) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m->n_out, m->hidden, 1.0f, H, m->hidden, m->W2, m->hidden,
                0.0f, L, m->n_out);
    for (size_t r = 0; r < (size_t)n; r++)
        for (int o = 0; o < m->n_out; o++) L[r * m->n_out + o] += m->b2[o];
}

void ml_mlp_hidden(const ml_mlp *m, const float *X, int n, float *H) { forward_hidden(m, X, n, NULL, H); }

double ml_mlp_accuracy(const ml_mlp *m, const float *H, const int *y, int n) {
    enum { CH = 1024 };
    float *L = ml_malloc(sizeof(float) * CH * m->n_out);
    long right = 0;
    for (int r0 = 0; r0 < n; r0 += CH) {
        int nr = n - r0 < CH ? n - r0 : CH;
        logits(m, H + (size_t)r0 * m->hidden, nr, L);
        for (int r = 0; r < nr; r++) {
            const float *l = L + (size_t)r * m->n_out;
            int best = 0;
            for (int o = 1; o < m->n_out; o++)
                if (l[o] > l[best]) best = o;
            right += best == y[r0 + r];
        }
    }
    free(L);
    return n ? (double)right / n : NAN;
}

void ml_mlp_trainer_init(ml_mlp_trainer *t, const ml_mlp *m, int B) {
    t->B = B;
    t->grads = ml_calloc((size_t)m->n_param, sizeof(float));
    t->m1 = ml_calloc((size_t)m->n_param, sizeof(float));
    t->m2 = ml_calloc((size_t)m->n_param, sizeof(float));
    t->H = ml_malloc(sizeof(float) * (size_t)B * m->hidden);
    t->PRE = ml_malloc(sizeof(float) * (size_t)B * m->hidden);
    t->L = ml_malloc(sizeof(float) * (size_t)B * m->n_out);
    t->t = 0;
}

void ml_mlp_trainer_free(ml_mlp_trainer *t) {
    free(t->grads); free(t->m1); free(t->m2); free(t->H); free(t->PRE); free(t->L);
    memset(t, 0, sizeof *t);
}

double ml_mlp_grad(const ml_mlp *m, ml_mlp_trainer *t, const float *X, const int *y, int B) {
    if (B > t->B) ml_fatal("mlp: batch %d exceeds the trainer's %d", B, t->B);
    const int k = m->hidden, no = m->n_out, d = m->d_in;
    forward_hidden(m, X, B, t->PRE, t->H);
    logits(m, t->H, B, t->L);
    /* loss = mean(logsumexp - logit_y); dL = (softmax - onehot) / B */
    double loss = 0;
    for (int r = 0; r < B; r++) {
        float *l = t->L + (size_t)r * no;
        float mx = l[0];
        for (int o = 1; o < no; o++) mx = fmaxf(mx, l[o]);
        double se = 0;
        for (int o = 0; o < no; o++) se += exp((double)(l[o] - mx));
        loss += log(se) + mx - l[y[r]];
        for (int o = 0; o < no; o++) l[o] = (float)(exp((double)(l[o] - mx)) / se) - (o == y[r]);
        for (int o = 0; o < no; o++) l[o] /= (float)B;
    }
    float *gW1 = t->grads, *gb1 = gW1 + (size_t)k * d, *gW2 = gb1 + k, *gb2 = gW2 + (size_t)no * k;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, no, k, B, 1.0f, t->L, no, t->H, k, 0.0f, gW2, k);
    for (int o = 0; o < no; o++) gb2[o] = 0.0f;
    for (int r = 0; r < B; r++)
        for (int o = 0; o < no; o++) gb2[o] += t->L[(size_t)r * no + o];
    /* dPRE = (dL W2) * relu'(PRE), written over H */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, k, no, 1.0f, t->L, no, m->W2, k, 0.0f, t->H, k);
    for (size_t e = 0; e < (size_t)B * k; e++)
        if (!(t->PRE[e] > 0.0f)) t->H[e] = 0.0f;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, d, B, 1.0f, t->H, k, X, d, 0.0f, gW1, d);
    for (int j = 0; j < k; j++) gb1[j] = 0.0f;
    for (int r = 0; r < B; r++)
        for (int j = 0; j < k; j++) gb1[j] += t->H[(size_t)r * k + j];
    return loss / B;
}

double ml_mlp_step(ml_mlp *m, ml_mlp_trainer *t, const float *X, const int *y, int B, float lr) {
    double loss = ml_mlp_grad(m, t, X, y, B);
    ml_adam_step(m->params, t->grads, t->m1, t->m2, m->n_param, lr, ++t->t);
    return loss;
}

void ml_mlp_train(ml_mlp *m, const ml_digits *train, int epochs, int batch, float lr, uint64_t seed) {
    const int n = train->n, d = train->dim;
    int *perm = ml_malloc(sizeof(int) * (size_t)n);
    int *yb = ml_malloc(sizeof(int) * (size_t)batch);
    float *Xb = ml_malloc(sizeof(float) * (size_t)batch * d);
    ml_mlp_trainer t;
    ml_mlp_trainer_init(&t, m, batch);
    for (int e = 0; e < epochs; e++) {
        ml_permutation(seed, ML_STREAM_SHUFFLE, (uint32_t)e, n, perm);
        double sum = 0;
        long nb = 0;
        for (int r0 = 0; r0 < n; r0 += batch, nb++) {
            int B = n - r0 < batch ? n - r0 : batch;
            for (int b = 0; b < B; b++) {
                memcpy(Xb + (size_t)b * d, train->x + (size_t)perm[r0 + b] * d, sizeof(float) * d);
                yb[b] = train->y[perm[r0 + b]];
            }
            sum += ml_mlp_step(m, &t, Xb, yb, B, lr);
        }
        fprintf(stderr, "[monolab] mlp epoch %d/%d: mean training loss %.4f\n", e + 1, epochs, sum / (double)nb);
    }
    ml_mlp_trainer_free(&t);
    free(perm); free(yb); free(Xb);
}

void ml_mlp_save(const ml_mlp *m, const char *path, int n_meta, const char *const *meta_kv) {
    ml_st_tensor t[4] = {{"W1", ML_ST_F32, 2, {m->hidden, m->d_in}, m->W1},
                         {"b1", ML_ST_F32, 1, {m->hidden}, m->b1},
                         {"W2", ML_ST_F32, 2, {m->n_out, m->hidden}, m->W2},
                         {"b2", ML_ST_F32, 1, {m->n_out}, m->b2}};
    ml_st_write(path, 4, t, n_meta, meta_kv);
}

void ml_mlp_load(ml_mlp *m, const char *path, int d_in, int hidden, int n_out) {
    alloc(m, d_in, hidden, n_out);
    ml_st_file f;
    ml_st_open(&f, path);
    const int64_t sW1[2] = {hidden, d_in}, sb1[1] = {hidden}, sW2[2] = {n_out, hidden}, sb2[1] = {n_out};
    struct { const char *name; int nd; const int64_t *shape; float *dst; size_t n; } parts[4] = {
        {"W1", 2, sW1, m->W1, (size_t)hidden * d_in}, {"b1", 1, sb1, m->b1, (size_t)hidden},
        {"W2", 2, sW2, m->W2, (size_t)n_out * hidden}, {"b2", 1, sb2, m->b2, (size_t)n_out}};
    for (int i = 0; i < 4; i++) {
        float *v = ml_st_get_f32(&f, parts[i].name, parts[i].nd, parts[i].shape, 0);
        memcpy(parts[i].dst, v, sizeof(float) * parts[i].n);
        free(v);
    }
    ml_st_close(&f);
}
