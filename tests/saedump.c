/* Test helper for `monolab sae`: runs pieces of it on small inputs and
 * dumps every tensor to safetensors (or prints), so tests/test_sae_*.py can
 * compare them with PyTorch and numpy. Not part of the user-facing CLI.
 *   saedump ln OUT               L_N and its gradient on random inputs
 *   saedump step OUT L1 LN STEPS SAE steps (L_N from step 1) via the CPU backend
 *   saedump mlp OUT STEPS        MLP training steps
 *   saedump digits DIR SPLIT     ml_digits_load summary: n dim sum(x) sum(y) x[0..3] */
#include "monolab/common.h"
#include "monolab/sae_idx.h"
#include "monolab/sae_mlp.h"
#include "monolab/philox.h"
#include "monolab/safetensors.h"
#include "monolab/sae.h"
#include "monolab/sae_ln.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Deterministic test numbers in [lo, hi), a fraction `zeros` of them 0. */
static void fill(float *x, size_t n, uint64_t seed, float lo, float hi, float zeros) {
    for (size_t i = 0; i < n; i++) {
        ml_u32x4 w = ml_draw(seed, 99, 0, i);
        x[i] = ml_u01(w.v[1]) < zeros ? 0.0f : lo + (hi - lo) * ml_u01(w.v[0]);
    }
}

/* Tensors to dump, named, with their own copies. */
typedef struct {
    int n;
    ml_st_tensor t[256];
    char names[256][32];
} dump;

static void add(dump *D, const char *name, int ndim, int64_t d0, int64_t d1, const float *src) {
    size_t cnt = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1);
    float *copy = ml_malloc(sizeof(float) * cnt);
    memcpy(copy, src, sizeof(float) * cnt);
    snprintf(D->names[D->n], 32, "%s", name);
    D->t[D->n] = (ml_st_tensor){D->names[D->n], ML_ST_F32, ndim, {d0, d1}, copy};
    D->n++;
}

static void write_dump(dump *D, const char *path) {
    ml_st_write(path, D->n, D->t, 0, NULL);
    for (int i = 0; i < D->n; i++) free((void *)D->t[i].data);
}

static int cmd_ln(const char *out) {
    enum { d = 7, n = 11, B = 9 };
    float X[B * d], A[B * n], W[d * n], hbar[n * d], hs[n], g[d * n] = {0}, loss;
    unsigned char hset[n];
    fill(X, B * d, 1, 0.0f, 2.0f, 0.3f);
    fill(A, B * n, 2, 0.0f, 1.0f, 0.5f);
    fill(W, d * n, 3, -1.0f, 1.0f, 0.0f);
    fill(hbar, n * d, 4, 0.0f, 2.0f, 0.2f);
    for (int j = 0; j < n; j++) { hset[j] = j % 4 != 3; hs[j] = hset[j]; }
    loss = (float)ml_sae_ln_grad(d, n, B, X, A, W, hbar, hset, 1.0f, g);
    dump D = {0};
    add(&D, "X", 2, B, d, X); add(&D, "A", 2, B, n, A); add(&D, "W_enc", 2, d, n, W);
    add(&D, "hbar", 2, n, d, hbar); add(&D, "hset", 1, n, 0, hs); add(&D, "grad", 2, d, n, g);
    add(&D, "loss", 1, 1, 0, &loss);
    ml_sae_hbar_update(d, n, B, X, A, hbar, hset);
    for (int j = 0; j < n; j++) hs[j] = hset[j];
    add(&D, "hbar_after", 2, n, d, hbar); add(&D, "hset_after", 1, n, 0, hs);
    write_dump(&D, out);
    return 0;
}

static int cmd_step(const char *out, float l1, float ln, int steps) {
    enum { d = 8, n = 24, B = 16, ROWS = 64 };
    uint64_t seed = 5;
    float lval = l1, nval = ln;
    ml_sae_group g = {1, d, n, B, 0.01f, 1, &seed, &lval, &nval};
    const ml_sae_layout lay = ml_sae_layout_of(d, n);
    float *data = ml_malloc(sizeof(float) * ROWS * d), *P = ml_malloc(sizeof(float) * lay.n_param);
    float *buf = ml_malloc(sizeof(float) * (lay.n_param + n * d + n));
    fill(data, ROWS * d, 6, 0.0f, 3.0f, 0.4f); /* like ReLU activations: nonnegative, some zero */
    ml_sae_init(d, n, seed, P);
    /* a bias so that some latents are off */
    fill(P + lay.b_enc, n, 7, -1.0f, 0.5f, 0.0f);
    dump D = {0};
    add(&D, "data", 2, ROWS, d, data);
    add(&D, "params0", 1, (int64_t)lay.n_param, 0, P);
    void *st = ml_sae_cpu.create(&g, P);
    for (int s = 0; s < steps; s++) {
        int rows[B];
        float rf[B], terms[4];
        for (int b = 0; b < B; b++) { rows[b] = (s * 23 + b * 5) % ROWS; rf[b] = (float)rows[b]; }
        char nm[32];
        ml_sae_cpu.peek(st, &g, "hbar", buf);
        snprintf(nm, sizeof nm, "hbar%d", s); add(&D, nm, 2, n, d, buf);
        ml_sae_cpu.peek(st, &g, "hset", buf);
        snprintf(nm, sizeof nm, "hset%d", s); add(&D, nm, 1, n, 0, buf);
        snprintf(nm, sizeof nm, "rows%d", s); add(&D, nm, 1, B, 0, rf);
        ml_sae_cpu.step(st, &g, data, rows, s);
        ml_sae_terms t;
        ml_sae_cpu.terms(st, &g, &t);
        terms[0] = (float)t.mse; terms[1] = (float)t.l1; terms[2] = (float)t.ln; terms[3] = (float)t.loss;
        snprintf(nm, sizeof nm, "terms%d", s); add(&D, nm, 1, 4, 0, terms);
        ml_sae_cpu.peek(st, &g, "grads", buf);
        snprintf(nm, sizeof nm, "grad%d", s); add(&D, nm, 1, (int64_t)lay.n_param, 0, buf);
        ml_sae_cpu.params(st, &g, buf);
        snprintf(nm, sizeof nm, "params%d", s + 1); add(&D, nm, 1, (int64_t)lay.n_param, 0, buf);
    }
    ml_sae_cpu.destroy(st);
    write_dump(&D, out);
    free(data); free(P); free(buf);
    return 0;
}

static int cmd_mlp(const char *out, int steps) {
    enum { DIN = 20, H = 12, NO = 5, B = 16 };
    ml_mlp m;
    ml_mlp_init(&m, DIN, H, NO, 3);
    ml_mlp_trainer t;
    ml_mlp_trainer_init(&t, &m, B);
    dump D = {0};
    add(&D, "params0", 1, m.n_param, 0, m.params);
    for (int s = 0; s < steps; s++) {
        float X[B * DIN], yf[B], loss;
        int y[B];
        fill(X, B * DIN, 10 + s, 0.0f, 1.0f, 0.3f);
        for (int b = 0; b < B; b++) { y[b] = (b * 7 + s) % NO; yf[b] = (float)y[b]; }
        loss = (float)ml_mlp_step(&m, &t, X, y, B, 0.01f);
        char nm[32];
        snprintf(nm, sizeof nm, "X%d", s); add(&D, nm, 2, B, DIN, X);
        snprintf(nm, sizeof nm, "y%d", s); add(&D, nm, 1, B, 0, yf);
        snprintf(nm, sizeof nm, "loss%d", s); add(&D, nm, 1, 1, 0, &loss);
        snprintf(nm, sizeof nm, "grad%d", s); add(&D, nm, 1, m.n_param, 0, t.grads);
        snprintf(nm, sizeof nm, "params%d", s + 1); add(&D, nm, 1, m.n_param, 0, m.params);
    }
    write_dump(&D, out);
    ml_mlp_trainer_free(&t);
    ml_mlp_free(&m);
    return 0;
}

static int cmd_digits(const char *dir, const char *split) {
    ml_digits d;
    ml_digits_load(&d, dir, split, 10);
    double sx = 0;
    long sy = 0;
    for (size_t i = 0; i < (size_t)d.n * d.dim; i++) sx += d.x[i];
    for (int i = 0; i < d.n; i++) sy += d.y[i];
    printf("%d %d %.17g %ld", d.n, d.dim, sx, sy);
    for (int i = 0; i < 4 && i < d.n; i++) printf(" %d", d.y[i]);
    printf("\n");
    ml_digits_free(&d);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "ln")) return cmd_ln(argv[2]);
    if (argc >= 6 && !strcmp(argv[1], "step")) return cmd_step(argv[2], (float)atof(argv[3]), (float)atof(argv[4]), atoi(argv[5]));
    if (argc >= 4 && !strcmp(argv[1], "mlp")) return cmd_mlp(argv[2], atoi(argv[3]));
    if (argc >= 4 && !strcmp(argv[1], "digits")) return cmd_digits(argv[2], argv[3]);
    ml_die("usage: saedump ln OUT | step OUT L1 LN STEPS | mlp OUT STEPS | digits DIR SPLIT");
}
