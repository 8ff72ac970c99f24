/* Finite-difference gradient check of the CPU backend's backward pass:
 * central differences of the full loss (squared error + L1 on h, docs/science.md §1.6)
 * evaluated in double, against the analytic float gradients. Tolerance:
 * normalised error per tensor <= 1e-4 (float gradients, h = 1e-6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "monolab/backend.h"
#include "monolab/elementwise.h"
#include "test_helpers.h"

static double act_d(int act, double z) {
    if (act == ACT_RELU) return z > 0 ? z : 0;
    if (act == ACT_GELU) return 0.5 * z * (1 + erf(z / sqrt(2.0)));
    return z * exp(z);
}

static double loss_d(const ml_group *g, const double *p, const float *X, const float *T, double l1) {
    const int B = g->B, m = g->m, k = g->k, out = g->out;
    const double *W1 = p + g->off_W1, *b1 = p + g->off_b1, *W2 = p + g->off_W2;
    double L = 0;
    double *h = malloc(sizeof(double) * k);
    for (int b = 0; b < B; b++) {
        for (int j = 0; j < k; j++) {
            double z = b1[j];
            for (int c = 0; c < m; c++) z += W1[j * m + c] * X[b * m + c];
            h[j] = act_d((int)g->shape.act, z);
            L += l1 * fabs(h[j]) / B;
        }
        for (int o = 0; o < out; o++) {
            double y = 0;
            for (int j = 0; j < k; j++) y += W2[o * k + j] * h[j];
            L += (y - T[b * out + o]) * (y - T[b * out + o]) / B;
        }
    }
    free(h);
    return L;
}

static void check(ml_task task, ml_act act) {
    ml_run r = test_run(task, act, 12, 5, 9, 16);
    r.l1 = 0.05;
    r.bias_offset = 0.1; /* keep most ReLU units away from their kink */
    r.eps = 0.3;
    const ml_run *rp = &r;
    ml_group *g = ml_group_create(&rp, 1);
    void *st = ml_backend_cpu.create(g);
    ml_backend_cpu.sample(st, g, 0, 0);
    ml_backend_cpu.forward(st, g);
    ml_backend_cpu.backward(st, g, 0);
    size_t np = g->n_param;
    float *grad = malloc(sizeof(float) * np), *X = malloc(sizeof(float) * g->B * g->m);
    float *T = malloc(sizeof(float) * g->B * g->out);
    ml_backend_cpu.peek(st, g, "grads", grad);
    ml_backend_cpu.peek(st, g, "X", X);
    ml_backend_cpu.peek(st, g, "T", T);
    double *p = malloc(sizeof(double) * np);
    for (size_t i = 0; i < np; i++) p[i] = g->init_params[i];
    const double h = 1e-6; /* loss is in double: tiny steps rarely cross a ReLU kink */
    size_t bounds[4] = {g->off_W1, g->off_b1, g->off_W2, np};
    for (int t = 0; t < 3; t++) {
        double num = 0, den = 0;
        for (size_t i = bounds[t]; i < bounds[t + 1]; i++) {
            double keep = p[i];
            p[i] = keep + h;
            double lp = loss_d(g, p, X, T, r.l1);
            p[i] = keep - h;
            double lm = loss_d(g, p, X, T, r.l1);
            p[i] = keep;
            double fd = (lp - lm) / (2 * h);
            num += (fd - grad[i]) * (fd - grad[i]);
            den += fd * fd;
        }
        double err = sqrt(num / (den > 0 ? den : 1e-30));
        if (err > 1e-4) fail_msg("task %d act %d tensor %d: normalised error %.2e", task, act, t, err);
    }
    free(p);
    free(grad);
    free(X);
    free(T);
    ml_backend_cpu.destroy(st);
    ml_group_free(g);
}

static void test_all(void **s) {
    (void)s;
    for (int task = 0; task < 3; task++)
        for (int act = 0; act < 3; act++) check((ml_task)task, (ml_act)act);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_all)};
    return cmocka_run_group_tests_name("gradcheck", tests, NULL, NULL);
}
