/* Samplers (docs/science.md §1.1, §1.3): measured feature frequencies match eps and
 * the power law within 5 sigma, values are U[0,1), and x = P v. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include "monolab/backend.h"
#include "monolab/philox.h"
#include "test_helpers.h"

/* Draw `steps` batches and count how often each target coordinate is non-zero. */
static void measure(const ml_run *r, int steps, double *freq, double *mean_val) {
    const ml_run *rp = r;
    ml_group *g = ml_group_create(&rp, 1);
    void *st = ml_backend_cpu.create(g);
    int N = g->N, B = g->B;
    for (int i = 0; i < N; i++) freq[i] = 0;
    double vs = 0, vn = 0;
    float *T = malloc(sizeof(float) * B * N), *X = malloc(sizeof(float) * B * g->m);
    for (int s = 0; s < steps; s++) {
        ml_backend_cpu.sample(st, g, ML_STREAM_TRAIN, (uint32_t)s);
        ml_backend_cpu.peek(st, g, "T", T);
        ml_backend_cpu.peek(st, g, "X", X);
        for (int b = 0; b < B; b++) {
            /* x must equal P v computed densely */
            for (int c = 0; c < g->m; c++) {
                double acc = 0;
                for (int i = 0; i < N; i++) acc += (double)g->Pt[i * g->m + c] * T[b * N + i];
                if (r->task == TASK_DECODER) assert_true(fabs(acc - X[b * g->m + c]) < 1e-5);
            }
            for (int i = 0; i < N; i++) {
                float v = T[b * N + i];
                if (v != 0) {
                    freq[i] += 1;
                    vs += v;
                    vn += 1;
                    assert_true(v > 0 && v < 1);
                }
            }
        }
    }
    for (int i = 0; i < N; i++) freq[i] /= (double)steps * B;
    *mean_val = vs / vn;
    free(T);
    free(X);
    ml_backend_cpu.destroy(st);
    ml_group_free(g);
}

static void check_freq(const double *freq, const double *p, int N, double n) {
    for (int i = 0; i < N; i++) {
        double sd = sqrt(p[i] * (1 - p[i]) / n);
        assert_true(fabs(freq[i] - p[i]) <= 5 * sd + 1e-12);
    }
}

static void test_uniform(void **state) {
    (void)state;
    ml_run r = test_run(TASK_DECODER, ACT_RELU, 32, 8, 8, 2048);
    r.eps = 1.0 / 16;
    double freq[32], p[32], mv;
    measure(&r, 20, freq, &mv);
    for (int i = 0; i < 32; i++) p[i] = r.eps;
    check_freq(freq, p, 32, 20.0 * 2048);
    /* mean of U[0,1) given active */
    double n_act = 0;
    for (int i = 0; i < 32; i++) n_act += freq[i] * 20 * 2048;
    assert_true(fabs(mv - 0.5) < 5 * sqrt(1.0 / 12 / n_act));
}

static void test_power_law(void **state) {
    (void)state;
    ml_run r = test_run(TASK_DECODER, ACT_RELU, 64, 8, 8, 2048);
    r.sampling = SAMPLE_POWER_LAW;
    r.eps = 1.0 / 8;
    double freq[64], p[64], mv;
    measure(&r, 20, freq, &mv);
    double z = 0;
    for (int i = 1; i <= 64; i++) z += pow(i, -1.1);
    for (int i = 1; i <= 64; i++) p[i - 1] = fmin(1.0, 64 * r.eps / z * pow(i, -1.1));
    assert_true(p[0] == 1.0); /* this setting exercises the clipping */
    check_freq(freq, p, 64, 20.0 * 2048);
}

static void test_abs_density(void **state) {
    (void)state;
    /* v = v1 - v2 at density eps/2 each: nonzero w.p. 1 - (1 - eps/2)^2 */
    ml_run r = test_run(TASK_ABS, ACT_RELU, 32, 8, 8, 2048);
    r.eps = 0.25;
    double freq[32], p[32], mv;
    measure(&r, 20, freq, &mv);
    for (int i = 0; i < 32; i++) p[i] = 1 - (1 - r.eps / 2) * (1 - r.eps / 2);
    check_freq(freq, p, 32, 20.0 * 2048);
}

static void test_streams_differ(void **state) {
    (void)state;
    /* train and eval batches of the same step are independent draws */
    ml_u32x4 a = ml_draw(5, ML_STREAM_TRAIN, 0, 0), b = ml_draw(5, ML_STREAM_EVAL, 0, 0);
    assert_true(a.v[0] != b.v[0]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_power_law),
        cmocka_unit_test(test_abs_density),
        cmocka_unit_test(test_streams_differ),
    };
    return cmocka_run_group_tests_name("sampler", tests, NULL, NULL);
}
