/* GPU test of `monolab embed`'s CUDA twin against the CPU: on random layers
 * with structure (a mixture of directions), with and without contexts,
 * neuron and pre-mlp embeddings, every activation, the selected examples
 * must be identical, the partitions identical, and the metrics and linkage
 * distances within 1e-5. Also: a second neuron batch (n > 2,048), examples
 * that straddle a 4,096-row chunk (T > 4,096 with 5-row contexts), SoLU,
 * a supplied max_act, and adversarial distance sets (exact duplicates, so
 * zero distances and ties, and directions at cosine distance 0.5, on the
 * threshold). Run by `make test-gpu`, also under compute-sanitizer.
 *
 * Why exact equality can be asked of two different BLASes: the layers are
 * quantised (pre and W to multiples of 1/8 in [-3, 3], b to 1/64), so every
 * product and partial sum of pre W + b and of the Gram matrices is a float
 * exactly, in any summation order, with or without FMA (|pre W| <= 48 * 9
 * in steps of 1/64; |Gram| <= 48 * 81 in steps of 1/4096, < 2^24 steps).
 * OpenBLAS and cuBLAS then give the same bits, and every selection and
 * distance is the same on both twins, exact ties and activations exactly on
 * the threshold included. phi (erf, exp, tanh) is evaluated in double and
 * rounded once (elementwise.h, ml_act_any), so the two libms' last-bit
 * differences do not reach the float activations either: every neuron,
 * every activation, must match. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "monolab/backend.h"
#include "monolab/embed_layer.h"
#include "monolab/elementwise.h"
#include "monolab/model_init.h"
#include "monolab/philox.h"
#include "embed_similar_cuda.cuh"

static const ml_backend *cuda;

static float gauss(uint64_t i) { return (float)ml_normal(99, 7, i); }

/* x to the nearest multiple of step, within [-lim, lim] (see the top);
 * x as it is for step 0 (the inexact layers of test_inexact). */
static float quant(double x, double step, double lim) {
    if (step == 0) return (float)x;
    double v = nearbyint(x / step) * step;
    return (float)(v > lim ? lim : v < -lim ? -lim : v);
}

static void make_layer(ml_layer *L, int T, int d, int n, int act, int docs, int exact) {
    const double s8 = exact ? 0.125 : 0, s64 = exact ? 1.0 / 64 : 0;
    memset(L, 0, sizeof *L);
    L->T = T; L->d = d; L->n = n; L->act = act;
    L->pre = malloc(sizeof(float) * T * d);
    L->W = malloc(sizeof(float) * d * n);
    L->b = malloc(sizeof(float) * n);
    uint64_t q = 0;
    for (int t = 0; t < T; t++) {
        int dir = t % 7;
        for (int c = 0; c < d; c++) L->pre[t * d + c] = quant((c % 7 == dir ? 1.5 : 0.0) + 0.3 * gauss(q++), s8, 3);
    }
    for (int i = 0; i < d * n; i++) L->W[i] = quant(gauss(q++), s8, 3);
    for (int j = 0; j < n; j++) L->b[j] = quant(0.1 * gauss(q++), s64, 1);
    if (docs) {
        L->doc = malloc(sizeof(int64_t) * T);
        for (int t = 0; t < T; t++) L->doc[t] = t / 5;
    }
}

/* CPU twin against CUDA twin on L. exact: a layer of test_twins' kind,
 * where everything must match (activations bit for bit, partitions, linkage
 * and metrics within 1e-5); else an inexact layer (test_inexact), where the
 * selections must match and the activations agree within 1e-6. */
static void compare(ml_layer *L, ml_embed_opts *o, int exact) {
    ml_selection *sc = calloc(L->n, sizeof *sc), *sg = calloc(L->n, sizeof *sg);
    ml_neuron_result *rc = calloc(L->n, sizeof *rc), *rg = calloc(L->n, sizeof *rg);
    double t1, t2;
    ml_backend_cpu.embed(L, o, sc, rc, &t1, &t2);
    cuda->embed(L, o, sg, rg, &t1, &t2);
    int clustered = 0;
    long selected = 0;
    for (int j = 0; j < L->n; j++) {
        assert_int_equal(sc[j].n, sg[j].n);
        assert_memory_equal(sc[j].example, sg[j].example, sizeof(int64_t) * sc[j].n);
        assert_memory_equal(sc[j].row, sg[j].row, sizeof(int64_t) * sc[j].n);
        selected += sc[j].n;
        clustered += sc[j].n >= 2;
        if (!exact) {
            for (int a = 0; a < sc[j].n; a++) assert_true(fabsf(sc[j].act[a] - sg[j].act[a]) <= 1e-6f * fabsf(sc[j].act[a]));
        } else {
            assert_memory_equal(sc[j].act, sg[j].act, sizeof(float) * sc[j].n);
            assert_int_equal(rc[j].n_clusters, rg[j].n_clusters);
            assert_memory_equal(rc[j].labels, rg[j].labels, sizeof(int) * sc[j].n);
            for (int r = 0; r + 1 < sc[j].n; r++)
                for (int c = 0; c < 4; c++) assert_true(fabs(rc[j].Z[4 * r + c] - rg[j].Z[4 * r + c]) <= 1e-5);
            double a[4] = {rc[j].max_dist, rc[j].mean_dist, rc[j].mean_intra, rc[j].mean_inter};
            double b[4] = {rg[j].max_dist, rg[j].mean_dist, rg[j].mean_intra, rg[j].mean_inter};
            for (int m = 0; m < 4; m++) assert_true((isnan(a[m]) && isnan(b[m])) || fabs(a[m] - b[m]) <= 1e-5);
        }
        free(sc[j].example); free(sc[j].row); free(sc[j].act); free(rc[j].labels); free(rc[j].Z);
        free(sg[j].example); free(sg[j].row); free(sg[j].act); free(rg[j].labels); free(rg[j].Z);
    }
    if (exact) assert_true(clustered > L->n / 4);
    else assert_true(selected > L->n);
    free(sc); free(sg); free(rc); free(rg);
}

static void test_twins(void **s) {
    (void)s;
    const int acts[] = {ACT_NONE, ACT_RELU, ACT_GELU, ACT_SOLU, ACT_GELU_NEW};
    /* under compute-sanitizer (MONOLAB_GPU_QUICK) the same paths on fewer neurons: the cluster
       kernel's serial HAC is slow under racecheck's shared-memory tracking */
    const int quick = getenv("MONOLAB_GPU_QUICK") != NULL;
    for (int ai = 0; ai < 5; ai++)
        for (int docs = 0; docs < 2; docs++)
            for (int pre = 0; pre < 2; pre++) {
                ml_layer L;
                make_layer(&L, 3000, 48, quick ? 100 : 300, acts[ai], docs, 1);
                ml_embed_opts o = ml_embed_opts_default();
                o.pre_mlp = pre;
                compare(&L, &o, 1);
                ml_layer_free(&L);
            }
}

/* n > NEURON_BATCH and T > CHUNK_ROWS: the second neuron batch and the
 * contexts that straddle a chunk; then the same layer with max_act given. */
static void test_big_and_max_act(void **s) {
    (void)s;
    if (getenv("MONOLAB_GPU_QUICK")) skip();
    ml_layer L;
    make_layer(&L, 9000, 32, 2100, ACT_RELU, 1, 1);
    ml_embed_opts o = ml_embed_opts_default();
    compare(&L, &o, 1);
    L.max_act = malloc(sizeof(float) * L.n);
    for (int j = 0; j < L.n; j++) L.max_act[j] = 2.0f + 0.5f * (j % 7); /* a reference set's maxima */
    compare(&L, &o, 1);
    ml_layer_free(&L);
}

/* Rows drawn from four fixed directions, exactly repeated: many zero
 * distances and ties; directions 0 and 1 are at cosine distance 0.5, the
 * threshold (with integer coordinates, so that the Gram entries are exact
 * and the distance rounds the same way on both twins: with 0.8660254 for
 * sqrt(3)/2 its squared norm is 8.999999 or 9 at scale 3, depending on
 * whether the BLAS fuses the multiply-add, and the two sides of 0.5). */
static void test_adversarial(void **s) {
    (void)s;
    const int T = 2000, d = 8, n = 64;
    const float dirs[4][8] = {{1, 1, 0, 0, 0, 0, 0, 0},
                              {1, 0, 1, 0, 0, 0, 0, 0},
                              {0, 0, 0, 1, 1, 0, 0, 0},
                              {0, 0, 0, 0, 0, 1, 1, 1}};
    for (int pre = 0; pre < 2; pre++) {
        ml_layer L;
        make_layer(&L, T, d, n, ACT_RELU, 0, 1);
        for (int t = 0; t < T; t++)
            for (int c = 0; c < d; c++) L.pre[t * d + c] = dirs[(t * 7 + t / 3) % 4][c] * (1.0f + (t % 3));
        for (int j = 0; j < n; j++) L.b[j] = 0.0f;
        ml_embed_opts o = ml_embed_opts_default();
        o.pre_mlp = pre;
        compare(&L, &o, 1);
        ml_layer_free(&L);
    }
}

/* General float data: pre W + b now rounds differently in OpenBLAS and
 * cuBLAS, and the selections must still be identical (the canonical
 * pre-activations of embed_scan.h), the activations within 1e-6 (both are
 * phi of the same canonical z; only the two libms' double erf/exp/tanh may
 * differ in the last double bit). Partitions are not compared here: the
 * Gram matrices round differently too, and a merge at the distance
 * threshold may then go either way (the exact layers above pin them). */
static void test_inexact(void **s) {
    (void)s;
    const int acts[] = {ACT_NONE, ACT_RELU, ACT_GELU, ACT_SOLU, ACT_GELU_NEW};
    const int quick = getenv("MONOLAB_GPU_QUICK") != NULL;
    for (int ai = 0; ai < 5; ai++)
        for (int docs = 0; docs < 2; docs++) {
            ml_layer L;
            make_layer(&L, 6000, 96, quick ? 100 : 1000, acts[ai], docs, 0);
            /* a large pair that cancels in exact arithmetic, at both ends of the input axis: a float
               sum loses low bits of everything between them, differently in each summation order
               (on the CPU this alone makes a float-only rule select differently on 50 of 1,000
               neurons between two orders: tests/test_embed_canon.c) */
            for (int t = 0; t < L.T; t++) {
                L.pre[(size_t)t * L.d] = 30000.0f * (1.0f + 0.25f * (t % 4));
                L.pre[(size_t)t * L.d + L.d - 1] = -L.pre[(size_t)t * L.d];
            }
            for (int j = 0; j < L.n; j++) L.W[j] = L.W[(size_t)(L.d - 1) * L.n + j] = 1.0f;
            ml_embed_opts o = ml_embed_opts_default();
            compare(&L, &o, 0);
            ml_layer_free(&L);
        }
}

/* Similar clusters (ml_similar_topk and its CUDA twin) on C rows of E
 * [C][d], rows in groups of 1-6 consecutive rows (a neuron's clusters),
 * every 13th row zero. exact: entries +-1 with d = 16, so every unit row is
 * +-1/4 and every similarity a multiple of 1/16, exact in any summation
 * order: the two twins must keep the same lists bit for bit, with many
 * ties (lower index first). Else Gaussian rows: the similarities within
 * 2e-6, the ids the same wherever the similarity is not within 1e-5 of a
 * neighbour's in the list. Tiles (rb x cb) smaller than C cross row and
 * column tiles, and column tiles with fewer columns than segments. */
static void compare_similar(int64_t C, int exact, int k, int rb, int cb) {
    const int d = exact ? 16 : 48;
    float *E = malloc(sizeof(float) * (size_t)(C ? C : 1) * d);
    int *group = malloc(sizeof(int) * (size_t)(C ? C : 1));
    uint64_t q = 1000;
    for (int64_t i = 0, g = 0, left = 0; i < C; i++) {
        if (left == 0) { g++; left = 1 + (int)(6 * ml_u01((uint32_t)ml_draw(5, 1, 0, q++).v[0])); }
        group[i] = (int)g, left--;
        for (int c = 0; c < d; c++) {
            float v = exact ? (ml_draw(5, 2, 0, q++).v[0] & 1 ? 1.0f : -1.0f) : gauss(q++);
            E[i * d + c] = i % 13 == 12 ? 0.0f : v;
        }
    }
    size_t n = (size_t)C * k + 1;
    int64_t *ic = malloc(sizeof(int64_t) * n), *ig = malloc(sizeof(int64_t) * n);
    float *sc = malloc(sizeof(float) * n), *sg = malloc(sizeof(float) * n);
    ml_backend_cpu.similar_topk(E, C, d, group, k, ic, sc);
    if (rb > 0) ml_similar_topk_cuda_tiled(E, C, d, group, k, ig, sg, rb, cb);
    else cuda->similar_topk(E, C, d, group, k, ig, sg);
    long filled = 0, ties = 0;
    for (int64_t i = 0; i < C; i++)
        for (int p = 0; p < k; p++) {
            size_t at = (size_t)i * k + p;
            filled += ic[at] >= 0;
            ties += p > 0 && ic[at] >= 0 && sc[at] == sc[at - 1];
            if (exact || ic[at] < 0) {
                assert_int_equal(ic[at], ig[at]);
                assert_memory_equal(&sc[at], &sg[at], sizeof(float)); /* NaN in empty slots too */
                continue;
            }
            assert_true(fabsf(sc[at] - sg[at]) <= 2e-6f);
            int near = (p > 0 && fabsf(sc[at] - sc[at - 1]) <= 1e-5f) || (p + 1 < k && fabsf(sc[at] - sc[at + 1]) <= 1e-5f);
            if (!near) assert_int_equal(ic[at], ig[at]);
        }
    if (C > k + 6 && k > 0) assert_true(filled == C * k); /* every row has k others */
    if (exact && C > 50 && k > 1) assert_true(ties > C / 2); /* the tie order was really tested */
    free(E); free(group); free(ic); free(ig); free(sc); free(sg);
}

static void test_similar(void **s) {
    (void)s;
    const int quick = getenv("MONOLAB_GPU_QUICK") != NULL;
    for (int exact = 1; exact >= 0; exact--) {
        compare_similar(60, exact, 5, 7, 5);              /* 9 x 12 tiles; columns fewer than segments */
        compare_similar(quick ? 300 : 700, exact, 20, 64, 100);
        compare_similar(quick ? 600 : 3000, exact, 20, 0, 0); /* the backend's own tiles */
    }
    compare_similar(9, 1, 20, 4, 4);  /* fewer other rows than k: -1 and NaN after them */
    compare_similar(1, 1, 3, 0, 0);   /* one row, no other group */
    compare_similar(0, 1, 20, 0, 0);  /* no clusters */
    compare_similar(40, 1, 0, 0, 0);  /* --similar 0 */
}

int main(void) {
    char reason[256];
    if (!(cuda = ml_backend_cuda_get(reason, sizeof reason))) {
        printf("no GPU: %s\n", reason);
        return 1;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_twins), cmocka_unit_test(test_big_and_max_act),
                                       cmocka_unit_test(test_adversarial), cmocka_unit_test(test_inexact),
                                       cmocka_unit_test(test_similar)};
    return cmocka_run_group_tests_name("embed_cuda", tests, NULL, NULL);
}
