/* Embed's selection depends on the data, not on the GEMM that screens it
 * (include/monolab/embed_scan.h). A layer and its copy with the d axis
 * permuted (pre[:, perm], W[perm, :]) have the same pre-activations in exact
 * arithmetic, but a float GEMM sums them in another order. The layers here
 * make that order matter a lot: every row carries a pair of large
 * components, +A and -A, that cancel in exact arithmetic and lose low bits
 * of everything summed between them in float. The test first shows that a
 * float-only rule (threshold and comparisons on the GEMM's z) selects
 * differently on the two copies, then that the selection of ml_embed_cpu is
 * the same on both: same examples, same key rows, activations within
 * 1e-6, same clusters; for every activation, with and without contexts,
 * and with OpenMP on one thread against two. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "monolab/elementwise.h"
#include "monolab/embed_cpu.h"
#include "monolab/embed_layer.h"
#include "monolab/embed_scan.h"
#include "monolab/model_init.h"

enum { T = 1500, D = 40, NN = 200, CAP = 100 };

static float gauss(uint64_t i) { return (float)ml_normal(2024, 3, i); }

/* Components 0 and D-1 hold +A and -A with weight 1 for every neuron. */
static void make_layer(ml_layer *L, int act, int docs) {
    memset(L, 0, sizeof *L);
    L->T = T; L->d = D; L->n = NN; L->act = act;
    L->pre = malloc(sizeof(float) * T * D);
    L->W = malloc(sizeof(float) * D * NN);
    L->b = malloc(sizeof(float) * NN);
    uint64_t q = 0;
    for (int t = 0; t < T; t++) {
        float A = 30000.0f * (1.0f + 0.25f * (t % 4));
        for (int c = 1; c < D - 1; c++) L->pre[t * D + c] = (c % 5 == t % 5 ? 1.0f : 0.0f) + 0.5f * gauss(q++);
        L->pre[t * D] = A;
        L->pre[t * D + D - 1] = -A;
    }
    for (int c = 0; c < D; c++)
        for (int j = 0; j < NN; j++) L->W[c * NN + j] = c == 0 || c == D - 1 ? 1.0f : gauss(q++);
    for (int j = 0; j < NN; j++) L->b[j] = 0.1f * gauss(q++);
    if (docs) {
        L->doc = malloc(sizeof(int64_t) * T);
        for (int t = 0; t < T; t++) L->doc[t] = t / 3;
    }
}

/* The same layer with the d axis in another order: +A first, -A last
 * becomes -A and +A side by side in the middle (exact cancellation). */
static void permuted(const ml_layer *L, ml_layer *P) {
    *P = *L;
    P->pre = malloc(sizeof(float) * T * D);
    P->W = malloc(sizeof(float) * D * NN);
    P->b = malloc(sizeof(float) * NN);
    memcpy(P->b, L->b, sizeof(float) * NN);
    if (L->doc) {
        P->doc = malloc(sizeof(int64_t) * T);
        memcpy(P->doc, L->doc, sizeof(int64_t) * T);
    }
    int perm[D]; /* new axis c holds old axis perm[c] */
    for (int c = 0; c < D; c++) perm[c] = c;
    perm[D / 2] = 0, perm[0] = D / 2;              /* +A to the middle */
    perm[D / 2 + 1] = D - 1, perm[D - 1] = D / 2 + 1; /* -A beside it */
    for (int t = 0; t < T; t++)
        for (int c = 0; c < D; c++) P->pre[t * D + c] = L->pre[t * D + perm[c]];
    for (int c = 0; c < D; c++)
        for (int j = 0; j < NN; j++) P->W[c * NN + j] = L->W[perm[c] * NN + j];
}

/* The float-only rule on the GEMM's z, no contexts: the first CAP rows
 * whose phi(z) reaches 0.75 phi(max z). Returns the neurons whose selected
 * rows differ between the two layers. */
static int float_rule_differences(const ml_layer *L, const ml_layer *P) {
    float *Z1 = malloc(sizeof(float) * T * NN), *Z2 = malloc(sizeof(float) * T * NN);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, NN, D, 1, L->pre, D, L->W, NN, 0, Z1, NN);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, NN, D, 1, P->pre, D, P->W, NN, 0, Z2, NN);
    int differ = 0;
    for (int j = 0; j < NN; j++) {
        float m1 = -INFINITY, m2 = -INFINITY;
        for (int t = 0; t < T; t++) m1 = fmaxf(m1, Z1[t * NN + j] + L->b[j]), m2 = fmaxf(m2, Z2[t * NN + j] + L->b[j]);
        float thr1 = 0.75f * ml_act_any(L->act, m1), thr2 = 0.75f * ml_act_any(L->act, m2);
        int n1 = 0, n2 = 0, same = 1;
        for (int t = 0; t < T && (n1 < CAP || n2 < CAP); t++) {
            int s1 = n1 < CAP && ml_act_any(L->act, Z1[t * NN + j] + L->b[j]) >= thr1;
            int s2 = n2 < CAP && ml_act_any(L->act, Z2[t * NN + j] + L->b[j]) >= thr2;
            same &= s1 == s2;
            n1 += s1, n2 += s2;
        }
        differ += !same;
    }
    free(Z1); free(Z2);
    return differ;
}

static void run(const ml_layer *L, int threads, double act_frac, ml_selection *sel, ml_neuron_result *res) {
    ml_embed_opts o = ml_embed_opts_default();
    o.act_frac = act_frac;
    o.max_examples = CAP;
    double t1, t2;
    omp_set_num_threads(threads);
    ml_embed_cpu(L, &o, sel, res, &t1, &t2);
}

static void free_results(ml_selection *sel, ml_neuron_result *res) {
    for (int j = 0; j < NN; j++) {
        free(sel[j].example); free(sel[j].row); free(sel[j].act); free(res[j].labels); free(res[j].Z);
    }
}

static void test_gemm_order(void **state) {
    (void)state;
    /* the five activations at act_frac 0.75, then ReLU at 0: every row qualifies, negative ones too */
    const int acts[] = {ACT_NONE, ACT_RELU, ACT_GELU, ACT_SOLU, ACT_GELU_NEW, ACT_RELU};
    const double fracs[] = {0.75, 0.75, 0.75, 0.75, 0.75, 0.0};
    static ml_selection s1[NN], s2[NN];
    static ml_neuron_result r1[NN], r2[NN];
    int float_differ = 0;
    for (int ai = 0; ai < 6; ai++)
        for (int docs = 0; docs < 2; docs++) {
            ml_layer L, P;
            make_layer(&L, acts[ai], docs);
            permuted(&L, &P);
            if (!docs && fracs[ai] > 0) float_differ += float_rule_differences(&L, &P);
            run(&L, 2, fracs[ai], s1, r1);
            run(&P, 1, fracs[ai], s2, r2);
            int selected = 0;
            for (int j = 0; j < NN; j++) {
                assert_int_equal(s1[j].n, s2[j].n);
                assert_memory_equal(s1[j].example, s2[j].example, sizeof(int64_t) * s1[j].n);
                assert_memory_equal(s1[j].row, s2[j].row, sizeof(int64_t) * s1[j].n);
                for (int a = 0; a < s1[j].n; a++)
                    assert_true(fabsf(s1[j].act[a] - s2[j].act[a]) <= 1e-6f * fabsf(s1[j].act[a]));
                assert_int_equal(r1[j].n_clusters, r2[j].n_clusters);
                selected += s1[j].n;
            }
            assert_true(selected > NN); /* the layers select plenty */
            if (fracs[ai] == 0) assert_int_equal(selected, NN * CAP); /* the first CAP examples of every neuron */
            free_results(s1, r1);
            free_results(s2, r2);
            ml_layer_free(&L);
            ml_layer_free(&P);
        }
    /* the data make the float rule disagree with itself, so the test can fail */
    print_message("float-only rule: %d neuron selections differ between the two GEMM orders\n", float_differ);
    assert_true(float_differ >= 10);
}

/* The screen's margin against float dot products summed in the orders GEMMs
 * use (forward, backward, pairwise tree, split-K partials, fused
 * multiply-adds), on vectors built to lose bits: mixed magnitudes, large
 * cancelling pairs, tiny values near underflow. ml_gemm_margin is twice the
 * proven bound, so every error must stay within half of it. */
static float dot_order(const float *p, const float *w, int d, int order) {
    if (order == 0 || order == 1) { /* forward, backward */
        float z = 0;
        for (int i = 0; i < d; i++) z += p[order ? d - 1 - i : i] * w[order ? d - 1 - i : i];
        return z;
    }
    if (order == 2) { /* fused multiply-adds */
        float z = 0;
        for (int i = 0; i < d; i++) z = fmaf(p[i], w[i], z);
        return z;
    }
    if (order == 3) { /* pairwise tree */
        float t[64];
        int m = d;
        for (int i = 0; i < d; i++) t[i] = p[i] * w[i];
        while (m > 1) {
            for (int i = 0; i < m / 2; i++) t[i] = t[2 * i] + t[2 * i + 1];
            if (m % 2) t[m / 2] = t[m - 1];
            m = (m + 1) / 2;
        }
        return t[0];
    }
    float part[4] = {0, 0, 0, 0}; /* split-K in 4 interleaved partials */
    for (int i = 0; i < d; i++) part[i % 4] += p[i] * w[i];
    return (part[3] + part[1]) + (part[2] + part[0]);
}

static void test_margin_bound(void **state) {
    (void)state;
    enum { DD = 61 };
    uint64_t q = 0;
    for (int trial = 0; trial < 20000; trial++) {
        float p[DD], w[DD];
        int kind = trial % 4;
        for (int c = 0; c < DD; c++) {
            float scale = kind == 0 ? 1.0f : kind == 1 ? ldexpf(1.0f, (int)(q % 40) - 20) : kind == 2 ? 1.0f : 1e-38f;
            p[c] = scale * gauss(q++);
            w[c] = gauss(q++) * (kind == 3 ? 1e-3f : 1.0f);
        }
        if (kind == 2) { /* a large pair that cancels, at the two ends */
            p[0] = 1e6f * (1 + (trial % 7)), w[0] = 1.0f;
            p[DD - 1] = -p[0], w[DD - 1] = 1.0f;
        }
        float b = 0.1f * gauss(q++);
        double pn = 0, wn = 0;
        for (int c = 0; c < DD; c++) pn += (double)p[c] * p[c], wn += (double)w[c] * w[c];
        float margin = ml_gemm_margin(DD, sqrt(pn), sqrt(wn), b);
        double zc = ml_canon_z(p, w, DD, b);
        for (int order = 0; order < 5; order++) {
            float z32 = dot_order(p, w, DD, order) + b;
            if (fabs(z32 - zc) > 0.5 * margin)
                fail_msg("trial %d order %d: |%.9g - %.17g| > margin/2 = %.9g", trial, order, z32, zc, 0.5 * margin);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_gemm_order), cmocka_unit_test(test_margin_bound)};
    return cmocka_run_group_tests_name("embed_canon", tests, NULL, NULL);
}
