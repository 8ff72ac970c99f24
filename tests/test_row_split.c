/* A model's arithmetic on the CPU backend does not depend on the thread
 * count or the group size, whatever BLAS runs it.
 *
 * An sgemm may round an output element differently depending on the shape
 * of the call it belongs to: OpenBLAS 0.3.21's Haswell and Zen kernels do
 * for most shapes (an element's bits change when its rows are computed in
 * two calls instead of one), its SkylakeX kernels for fewer. So the CPU
 * backend's cut of a model's work into row blocks is part of the model's
 * arithmetic, and must come from the model's shape alone. tests/test_group.c
 * checks the promise with the real OpenBLAS, which catches a cut that
 * follows the thread count only on CPUs whose kernel happens to round by
 * shape; this test replaces cblas_sgemm, for this binary, by a reference
 * GEMM that always does (each sum starts at a term chosen by the call's row
 * count), so such a cut fails here on every machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <cblas.h>
#include <omp.h>
#include <string.h>
#include "monolab/train.h"
#include "test_helpers.h"

/* Rows of the smallest forward x W1ᵀ call (N = k = 256, K = m = 32): under
 * the batch, so a model really is cut into blocks. */
static int fwd_rows = 1 << 30;

/* Defined here, this cblas_sgemm is the one the backend's calls bind to. */
void cblas_sgemm(OPENBLAS_CONST enum CBLAS_ORDER order, OPENBLAS_CONST enum CBLAS_TRANSPOSE ta,
                 OPENBLAS_CONST enum CBLAS_TRANSPOSE tb, OPENBLAS_CONST blasint M, OPENBLAS_CONST blasint N,
                 OPENBLAS_CONST blasint K, OPENBLAS_CONST float alpha, OPENBLAS_CONST float *A,
                 OPENBLAS_CONST blasint lda, OPENBLAS_CONST float *B, OPENBLAS_CONST blasint ldb,
                 OPENBLAS_CONST float beta, float *C, OPENBLAS_CONST blasint ldc) {
    assert_int_equal(order, CblasRowMajor);
    if (N == 256 && K == 32 && M < fwd_rows) fwd_rows = M;
    for (blasint i = 0; i < M; i++)
        for (blasint j = 0; j < N; j++) {
            float acc = 0.0f;
            for (blasint t = 0; t < K; t++) {
                const blasint l = (t + M) % K; /* the order of the sum depends on the call's rows */
                const float a = ta == CblasTrans ? A[(size_t)l * lda + i] : A[(size_t)i * lda + l];
                const float b = tb == CblasTrans ? B[(size_t)j * ldb + l] : B[(size_t)l * ldb + j];
                acc += a * b;
            }
            float *c = &C[(size_t)i * ldc + j];
            *c = beta == 0.0f ? alpha * acc : alpha * acc + beta * *c;
        }
}

static ml_run runs[3];

/* Big enough that the backend cuts each model into several row blocks. */
static void make_runs(void) {
    for (int i = 0; i < 3; i++) {
        runs[i] = test_run(TASK_DECODER, ACT_RELU, 128, 32, 256, 256);
        runs[i].seed = 40 + i;
        runs[i].steps = 6;
        runs[i].t_max = 4;
        runs[i].log_every = 2;
        runs[i].eval_batch = 256;
        runs[i].l1 = 0.001;
        snprintf(runs[i].id, sizeof runs[i].id, "r%06d", i);
    }
}

static void train(const ml_run *const *rp, int G, int threads, ml_train_result *res) {
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    ml_group *g = ml_group_create(rp, G);
    ml_train_group(&ml_backend_cpu, g, res, NULL, NULL, NULL);
    ml_group_free(g);
    omp_set_num_threads(saved);
}

static void assert_same_params(const ml_train_result *A, int a, const ml_train_result *B, int b, size_t np) {
    assert_memory_equal(A->params + a * np, B->params + b * np, np * sizeof(float));
    assert_memory_equal(&A->final_loss[a], &B->final_loss[b], sizeof(double));
}

/* Model 1 alone on 1, 2 and 3 threads, and inside a group of 3 on 2. */
static void test_same_bits_any_threads_any_group(void **s) {
    (void)s;
    make_runs();
    const ml_run *rp[3] = {&runs[0], &runs[1], &runs[2]};
    const size_t np = (size_t)256 * 32 + 256 + (size_t)ml_run_out_dim(&runs[0]) * 256;
    ml_train_result group, alone[3];
    train(rp, 3, 2, &group);
    for (int t = 0; t < 3; t++) {
        train(&rp[1], 1, t + 1, &alone[t]);
        assert_same_params(&group, 1, &alone[t], 0, np);
    }
    assert_true(fwd_rows < 256);
    ml_train_result_free(&group);
    for (int t = 0; t < 3; t++) ml_train_result_free(&alone[t]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bits_any_threads_any_group),
    };
    return cmocka_run_group_tests_name("row_split", tests, NULL, NULL);
}
