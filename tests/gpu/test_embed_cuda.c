/* GPU test of `monolab embed`'s CUDA twin against the CPU: on random layers
 * with structure (a mixture of directions), with and without contexts,
 * neuron and pre-mlp embeddings, every activation, the selected examples
 * must be identical, the partitions identical, and the metrics and linkage
 * distances within 1e-5. Run by `make test-gpu`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "monolab/backend.h"
#include "monolab/embed.h"
#include "monolab/elementwise.h"
#include "monolab/philox.h"

static float gauss(uint64_t i) {
    ml_u32x4 w = ml_draw(99, 7, 0, i);
    double u = (w.v[0] + 0.5) / 4294967296.0, v = (w.v[1] + 0.5) / 4294967296.0;
    return (float)(sqrt(-2 * log(u)) * cos(6.283185307179586 * v));
}

static void make_layer(ml_layer *L, int T, int d, int n, int act, int docs) {
    memset(L, 0, sizeof *L);
    L->T = T; L->d = d; L->n = n; L->act = act;
    L->pre = malloc(sizeof(float) * T * d);
    L->W = malloc(sizeof(float) * d * n);
    L->b = malloc(sizeof(float) * n);
    uint64_t q = 0;
    for (int t = 0; t < T; t++) {
        int dir = t % 7;
        for (int c = 0; c < d; c++) L->pre[t * d + c] = (c % 7 == dir ? 1.5f : 0.0f) + 0.3f * gauss(q++);
    }
    for (int i = 0; i < d * n; i++) L->W[i] = gauss(q++);
    for (int j = 0; j < n; j++) L->b[j] = 0.1f * gauss(q++);
    if (docs) {
        L->doc = malloc(sizeof(int64_t) * T);
        for (int t = 0; t < T; t++) L->doc[t] = t / 5;
    }
}

static void compare(ml_layer *L, ml_embed_opts *o) {
    ml_selection *sc = calloc(L->n, sizeof *sc), *sg = calloc(L->n, sizeof *sg);
    ml_neuron_result *rc = calloc(L->n, sizeof *rc), *rg = calloc(L->n, sizeof *rg);
    ml_select_examples(L, o, sc);
    ml_embed_cluster_cpu(L, o, sc, rc);
    double t1, t2;
    ml_embed_run_cuda(L, o, sg, rg, &t1, &t2);
    int clustered = 0;
    for (int j = 0; j < L->n; j++) {
        assert_int_equal(sc[j].n, sg[j].n);
        assert_memory_equal(sc[j].example, sg[j].example, sizeof(int64_t) * sc[j].n);
        assert_memory_equal(sc[j].row, sg[j].row, sizeof(int64_t) * sc[j].n);
        assert_int_equal(rc[j].n_clusters, rg[j].n_clusters);
        assert_memory_equal(rc[j].labels, rg[j].labels, sizeof(int) * sc[j].n);
        for (int r = 0; r + 1 < sc[j].n; r++)
            for (int c = 0; c < 4; c++) assert_true(fabs(rc[j].Z[4 * r + c] - rg[j].Z[4 * r + c]) <= 1e-5);
        double a[4] = {rc[j].max_dist, rc[j].mean_dist, rc[j].mean_intra, rc[j].mean_inter};
        double b[4] = {rg[j].max_dist, rg[j].mean_dist, rg[j].mean_intra, rg[j].mean_inter};
        for (int m = 0; m < 4; m++) assert_true((isnan(a[m]) && isnan(b[m])) || fabs(a[m] - b[m]) <= 1e-5);
        clustered += sc[j].n >= 2;
        free(sc[j].example); free(sc[j].row); free(sc[j].act); free(rc[j].labels); free(rc[j].Z);
        free(sg[j].example); free(sg[j].row); free(sg[j].act); free(rg[j].labels); free(rg[j].Z);
    }
    assert_true(clustered > L->n / 4);
    free(sc); free(sg); free(rc); free(rg);
}

static void test_twins(void **s) {
    (void)s;
    const int acts[] = {ML_ACT_NONE, 0, 1, ML_ACT_GELU_NEW};
    for (int ai = 0; ai < 4; ai++)
        for (int docs = 0; docs < 2; docs++)
            for (int pre = 0; pre < 2; pre++) {
                ml_layer L;
                make_layer(&L, 3000, 48, 300, acts[ai], docs);
                ml_embed_opts o = {0.75, 100, 0.5, pre, 0, 0, 0, 0.1, 0};
                compare(&L, &o);
                ml_layer_free(&L);
            }
}

int main(void) {
    char reason[256];
    if (!ml_backend_cuda_get(reason, sizeof reason)) {
        printf("no GPU: %s\n", reason);
        return 1;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_twins)};
    return cmocka_run_group_tests_name("embed_cuda", tests, NULL, NULL);
}
