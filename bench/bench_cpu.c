/* CPU training-step benchmark (steps/s and GFLOP/s of a group of G
 * decoders, by default the paper's shape N=512, m=64, k=1024, B=128), with
 * OpenBLAS sgemm's rate on the same five GEMM shapes measured in the same
 * process as the hardware reference, and the time of each backend call
 * per step (where the step's time goes).
 * Prints one key=value line for bench/bench_cpu.py to tabulate.
 * Usage: bench_cpu [G [steps [sgemm_reps [N m k B]]]]; sgemm_reps 0 skips
 * the sgemm reference (bench/bench_contended.py times the step loop alone).
 * The binary waits like monolab does (src/threads.c), so it measures what a
 * user gets. */
#include "monolab/backend.h"
#include "monolab/common.h"
#include "monolab/philox.h"
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern void openblas_set_num_threads(int);

static double step_flops(int B, int k, int m, int N) { return 2.0 * B * k * (2.0 * m + 3.0 * N); }

/* The step's five GEMMs, OpenBLAS threading over all cores. */
static double sgemm_rate(int B, int k, int m, int N, int reps) {
    float *X = calloc((size_t)B * m, 4), *W1 = calloc((size_t)k * m, 4), *H = calloc((size_t)B * k, 4);
    float *W2 = calloc((size_t)N * k, 4), *Y = calloc((size_t)B * N, 4), *dH = calloc((size_t)B * k, 4);
    float *dW1 = calloc((size_t)k * m, 4), *dW2 = calloc((size_t)N * k, 4);
    for (size_t i = 0; i < (size_t)B * k; i++) H[i] = dH[i] = 0.001f * (float)(i % 97);
    openblas_set_num_threads(omp_get_max_threads());
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = ml_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, k, m, 1, X, m, W1, m, 0, H, k);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, N, k, 1, H, k, W2, k, 0, Y, N);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, k, B, 1, Y, N, H, k, 0, dW2, k);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, k, N, 1, Y, N, W2, k, 0, dH, k);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, m, B, 1, dH, k, X, m, 0, dW1, m);
        double t = ml_now() - t0;
        if (r > 2 && t < best) best = t;
    }
    free(X); free(W1); free(H); free(W2); free(Y); free(dH); free(dW1); free(dW2);
    return step_flops(B, k, m, N) / best / 1e9;
}

int main(int argc, char **argv) {
    int G = argc > 1 ? atoi(argv[1]) : 1, steps = argc > 2 ? atoi(argv[2]) : 200;
    int sgemm_reps = argc > 3 ? atoi(argv[3]) : 50;
    ml_run r = {0};
    snprintf(r.id, sizeof r.id, "r000000");
    r.task = TASK_DECODER; r.N = 512; r.m = 64; r.k = 1024; r.batch = 128;
    if (argc > 7) { r.N = atoi(argv[4]); r.m = atoi(argv[5]); r.k = atoi(argv[6]); r.batch = atoi(argv[7]); }
    r.eps = 8.0 / r.N; /* the paper's 1/64 at N=512, the quickstart's 1/16 at N=64 */
    r.steps = steps; r.lr = 0.007; r.optimizer = OPT_LAMB; r.t_max = 512;
    r.decay = 0.03; r.bias_offset = -1; r.log_every = 16; r.eval_batch = 128; r.checkpoints = CKPT_NONE;
    ml_run *runs = calloc((size_t)G, sizeof *runs);
    const ml_run **rp = calloc((size_t)G, sizeof *rp);
    for (int i = 0; i < G; i++) { runs[i] = r; runs[i].seed = (uint64_t)i; rp[i] = &runs[i]; }
    double ref = sgemm_reps > 3 ? sgemm_rate(r.batch, r.k, r.m, r.N, sgemm_reps) : 0.0;
    ml_group *g = ml_group_create(rp, G);
    const ml_backend *be = &ml_backend_cpu;
    void *st = be->create(g);
    /* Each backend call ends in its parallel regions' barriers, so the
     * time between calls is that call's share of the step. */
    double phase[4] = {0}, t0 = 0;
    for (int t = 0; t < steps + 10; t++) {
        if (t == 10) t0 = ml_now();
        double c[5];
        c[0] = ml_now();
        be->sample(st, g, ML_STREAM_TRAIN, (uint32_t)t);
        c[1] = ml_now();
        be->forward(st, g);
        c[2] = ml_now();
        be->backward(st, g, t);
        c[3] = ml_now();
        be->optimize(st, g, t, 1.0f, 1);
        c[4] = ml_now();
        if (t >= 10)
            for (int i = 0; i < 4; i++) phase[i] += c[i + 1] - c[i];
    }
    double el = ml_now() - t0;
    double sps = steps / el, gflops = G * step_flops(r.batch, r.k, r.m, r.N) * sps / 1e9;
    printf("threads=%d G=%d steps_per_s=%.2f model_steps_per_s=%.2f gflops=%.2f sgemm_gflops=%.2f "
           "sample_frac=%.3f step_loop_s=%.4f ms_sample=%.4f ms_forward=%.4f ms_backward=%.4f ms_optimize=%.4f\n",
           omp_get_max_threads(), G, sps, sps * G, gflops, ref, phase[0] / el, el, 1e3 * phase[0] / steps,
           1e3 * phase[1] / steps, 1e3 * phase[2] / steps, 1e3 * phase[3] / steps);
    be->destroy(st);
    ml_group_free(g);
    free(runs);
    free(rp);
    return 0;
}
