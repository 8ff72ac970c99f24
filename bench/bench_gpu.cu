// GPU training-step benchmark (issue: CUDA backend), run by
// bench/gpu_session.sh on a GPU machine. Times S steps of the CUDA backend
// for a group of G models and, in the same process, cuBLAS alone running
// the step's five strided-batched GEMMs at the same shapes and precision:
// that is the hardware floor the step is measured against.
//   [MONOLAB_KERNELS=ref|fast|...] bench_gpu N m k B G steps fp32|tf32 [W]
// prints one key=value line; run it once per kernel variant to compare
// them side by side (bench/gpu_session.sh does). With W > 1 it also times
// W such groups trained one after another against the same W groups side
// by side (ml_train_groups' lockstep order, one stream each: the `streams`
// variant's mechanism), in the same process.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include "../kernels/cuda_check.h"
extern "C" {
#include "monolab/backend.h"
#include "monolab/common.h"
#include "monolab/philox.h"
#include "monolab/train.h"
}

static float gemm_ms(int N, int m, int k, int B, int G, bool tf32, int reps) {
    cublasHandle_t h;
    cublasCheck(cublasCreate(&h));
    cublasCheck(cublasSetMathMode(h, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH));
    size_t np = (size_t)k * m + k + (size_t)N * k;
    float *P, *X, *H, *Y, *G1;
    cudaCheck(cudaMalloc(&P, sizeof(float) * G * np));
    cudaCheck(cudaMalloc(&G1, sizeof(float) * G * np));
    cudaCheck(cudaMalloc(&X, sizeof(float) * G * B * m));
    cudaCheck(cudaMalloc(&H, sizeof(float) * G * B * k));
    cudaCheck(cudaMalloc(&Y, sizeof(float) * G * B * N));
    const float one = 1, zero = 0;
    cudaEvent_t a, b;
    cudaCheck(cudaEventCreate(&a));
    cudaCheck(cudaEventCreate(&b));
    float best = 1e30f;
    for (int r = 0; r < reps; r++) {
        cudaCheck(cudaEventRecord(a));
        cublasCheck(cublasSgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, k, B, m, &one, P, m, np, X, m, (long long)B * m, &zero, H, k, (long long)B * k, G));
        cublasCheck(cublasSgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, N, B, k, &one, P, k, np, H, k, (long long)B * k, &zero, Y, N, (long long)B * N, G));
        cublasCheck(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, k, B, N, &one, P, k, np, Y, N, (long long)B * N, &zero, H, k, (long long)B * k, G));
        cublasCheck(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_T, k, N, B, &one, H, k, (long long)B * k, Y, N, (long long)B * N, &zero, G1, k, np, G));
        cublasCheck(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_T, m, k, B, &one, X, m, (long long)B * m, H, k, (long long)B * k, &zero, G1, m, np, G));
        cudaCheck(cudaEventRecord(b));
        cudaCheck(cudaEventSynchronize(b));
        float ms;
        cudaCheck(cudaEventElapsedTime(&ms, a, b));
        if (r >= 3 && ms < best) best = ms;
    }
    cudaFree(P); cudaFree(G1); cudaFree(X); cudaFree(H); cudaFree(Y);
    cublasDestroy(h);
    return best;
}

// Seconds for W groups of `steps` training steps each: one group after
// another, or side by side (step t of every group before step t + 1).
// Each group's first WARM steps (in graph mode, step 1 captures the graph)
// run before the clock starts.
enum { WARM = 2 };
static double waves_s(const ml_backend *be, ml_group **gs, int W, int steps, bool side) {
    void **st = (void **)calloc(W, sizeof(void *));
    for (int w = 0; w < W; w++) st[w] = be->create(gs[w]);
    auto step = [&](int w, int t) {
        be->train_step(st[w], gs[w], t, (float)ml_schedule(SCHED_COSINE, 512, t), ml_decay_on(t, steps + WARM));
    };
    for (int w = 0; w < W; w++)
        for (int t = 0; t < WARM; t++) step(w, t);
    cudaCheck(cudaDeviceSynchronize());
    double t0 = ml_now();
    if (side)
        for (int t = WARM; t < steps + WARM; t++)
            for (int w = 0; w < W; w++) step(w, t);
    else
        for (int w = 0; w < W; w++)
            for (int t = WARM; t < steps + WARM; t++) step(w, t);
    cudaCheck(cudaDeviceSynchronize());
    double s = ml_now() - t0;
    for (int w = 0; w < W; w++) be->destroy(st[w]);
    free(st);
    return s;
}

int main(int argc, char **argv) {
    if (argc < 8) {
        fprintf(stderr, "usage: bench_gpu N m k B G steps fp32|tf32 [W]\n");
        return 2;
    }
    int W = argc > 8 ? atoi(argv[8]) : 1;
    int N = atoi(argv[1]), m = atoi(argv[2]), k = atoi(argv[3]), B = atoi(argv[4]), G = atoi(argv[5]);
    int steps = atoi(argv[6]);
    bool tf32 = !strcmp(argv[7], "tf32");
    char reason[256];
    const ml_backend *be = ml_backend_cuda_get(reason, sizeof reason);
    if (!be) { fprintf(stderr, "no GPU: %s\n", reason); return 1; }
    ml_run *runs = (ml_run *)calloc((size_t)G * (W > 1 ? W : 1), sizeof(ml_run));
    const ml_run **rp = (const ml_run **)calloc((size_t)G * (W > 1 ? W : 1), sizeof(ml_run *));
    for (int i = 0; i < G * (W > 1 ? W : 1); i++) {
        ml_run &r = runs[i];
        snprintf(r.id, sizeof r.id, "r%06d", i);
        r.task = TASK_DECODER; r.act = ACT_RELU; r.N = N; r.m = m; r.k = k; r.batch = B; r.seed = i;
        r.eps = 1.0 / 64; r.steps = steps + 10; r.lr = 0.007; r.optimizer = OPT_LAMB; r.t_max = 512; r.decay = 0.03;
        r.bias_offset = -1; r.log_every = 16; r.eval_batch = B; r.checkpoints = CKPT_NONE;
        r.precision = tf32 ? PREC_TF32 : PREC_FP32;
        rp[i] = &r;
    }
    ml_group *g = ml_group_create(rp, G);
    void *st = be->create(g);
    cudaEvent_t a, b;
    cudaCheck(cudaEventCreate(&a));
    cudaCheck(cudaEventCreate(&b));
    for (int t = 0; t < steps + 10; t++) { // as the training loop runs a step (train.c)
        if (t == 10) { cudaCheck(cudaDeviceSynchronize()); cudaCheck(cudaEventRecord(a)); }
        be->train_step(st, g, t, (float)ml_schedule(SCHED_COSINE, 512, t), ml_decay_on(t, steps + 10));
    }
    cudaCheck(cudaEventRecord(b));
    cudaCheck(cudaDeviceSynchronize());
    float ms;
    cudaCheck(cudaEventElapsedTime(&ms, a, b));
    double step_ms = ms / steps, flops = 2.0 * B * k * (2.0 * m + 3.0 * N) * G;
    float ref = gemm_ms(N, m, k, B, G, tf32, 20);
    const char *var = getenv("MONOLAB_KERNELS");
    printf("kernels=%s N=%d m=%d k=%d B=%d G=%d precision=%s step_ms=%.4f model_steps_per_s=%.1f tflops=%.2f "
           "gemm_only_ms=%.4f gemm_tflops=%.2f frac_of_gemm=%.3f\n",
           var && *var ? var : "ref", N, m, k, B, G, tf32 ? "tf32" : "fp32", step_ms, G * 1000.0 / step_ms, flops / step_ms / 1e9, ref,
           flops / ref / 1e9, ref / step_ms);
    be->destroy(st);
    ml_group_free(g);
    if (W > 1) {
        ml_group **gs = (ml_group **)calloc(W, sizeof(ml_group *));
        for (int w = 0; w < W; w++) gs[w] = ml_group_create(rp + (size_t)w * G, G);
        waves_s(be, gs, W, 10, true); // warm-up of the process: cuBLAS heuristics, the allocator
        double seq = waves_s(be, gs, W, steps, false), side = waves_s(be, gs, W, steps, true);
        printf("kernels=%s N=%d m=%d k=%d B=%d G=%d W=%d one_after_another_s=%.4f side_by_side_s=%.4f speedup=%.2f\n",
               var && *var ? var : "ref", N, m, k, B, G, W, seq, side, seq / side);
        for (int w = 0; w < W; w++) ml_group_free(gs[w]);
        free(gs);
    }
    return 0;
}
