/* Group invariance of SAEs: an SAE trained alone is bit-identical to the
 * same SAE inside a group of 5 with other λ1, λ2 and seeds, whatever the
 * thread count; and the per-model λ2 really acts (a check that can fail). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "monolab/philox.h"
#include "monolab/sae.h"
#include "monolab/sae_train.h"

enum { D = 12, NLAT = 40, B = 20, ROWS = 300, G = 5 };
static float data[ROWS * D];
static const float L1[G] = {0.01f, 0.0f, 0.03f, 0.01f, 0.01f};
static const float LN[G] = {0.0f, 1.0f, 0.3f, 0.5f, 0.5f};
static const uint64_t SEEDS[G] = {3, 4, 5, 6, 3};

/* Train models idx[0..k) of the table as one group (2 epochs, L_N from step 4). */
static float *train(const int *idx, int k) {
    uint64_t seed[G];
    float l1[G], ln[G];
    for (int i = 0; i < k; i++) { seed[i] = SEEDS[idx[i]]; l1[i] = L1[idx[i]]; ln[i] = LN[idx[i]]; }
    ml_sae_group g = {k, D, NLAT, B, 0.005f, 4, seed, l1, ln};
    const ml_sae_layout lay = ml_sae_layout_of(D, NLAT);
    float *init = malloc(sizeof(float) * lay.n_param * k), *out = malloc(sizeof(float) * lay.n_param * k);
    for (int i = 0; i < k; i++) ml_sae_init(D, NLAT, seed[i], init + i * lay.n_param);
    ml_sae_terms terms[G];
    ml_sae_train(&ml_sae_cpu, &g, init, data, ROWS, 2, out, terms, NULL, 1, NULL);
    free(init);
    return out;
}

static void setup_data(void) {
    for (size_t i = 0; i < ROWS * D; i++) {
        ml_u32x4 w = ml_draw(11, 99, 0, i);
        data[i] = ml_u01(w.v[1]) < 0.4f ? 0.0f : 2.0f * ml_u01(w.v[0]); /* ReLU-like */
    }
}

static void test_alone_equals_in_group(void **state) {
    (void)state;
    setup_data();
    const size_t np = ml_sae_layout_of(D, NLAT).n_param;
    const int all[G] = {0, 1, 2, 3, 4};
    for (int threads = 1; threads <= 3; threads++) {
        omp_set_num_threads(threads);
        float *grp = train(all, G);
        for (int i = 0; i < G; i++) {
            int one[1] = {i};
            float *alone = train(one, 1);
            assert_memory_equal(alone, grp + i * np, np * sizeof(float));
            free(alone);
        }
        /* reversed order inside the group changes nothing either */
        const int rev[G] = {4, 3, 2, 1, 0};
        float *r = train(rev, G);
        for (int i = 0; i < G; i++) assert_memory_equal(r + (G - 1 - i) * np, grp + i * np, np * sizeof(float));
        free(r);
        free(grp);
    }
}

static void test_ln_is_per_model(void **state) {
    (void)state;
    setup_data();
    const size_t np = ml_sae_layout_of(D, NLAT).n_param;
    /* models 0 and 4: same seed and λ1, λ2 0 and 0.5 */
    const int two[2] = {0, 4};
    float *p = train(two, 2);
    size_t differ = 0;
    for (size_t i = 0; i < np; i++) differ += p[i] != p[np + i];
    assert_true(differ > np / 10);
    free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alone_equals_in_group),
        cmocka_unit_test(test_ln_is_per_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
