// CUDA backend: the twin of src/backend_cpu.c behind the same ml_backend
// interface. Matrix products are cuBLAS GEMMs over the G models of a group;
// every other step is one of the kernels in train_kernels.cu. Row-major
// [r][c] buffers are read by cuBLAS as column-major c x r, hence the
// transposes.
//
// Kernel variants, chosen per process by MONOLAB_KERNELS (the llm.c
// pattern: one GPU run checks each against the CPU and times it):
//   ref      (default) the simplest kernels; GEMMs one model at a time, so
//            a model's bits cannot depend on its group (cuBLAS picks its
//            algorithm by shape and batch count: with batch 1 always, the
//            group size cannot change it);
//   fast     all of the switches below;
//   or a comma list of: gather (x = P v over the active features only),
//            fused (activation backward fused into the bias gradient),
//            batched (one strided-batched GEMM per product for the whole
//            group), graph (each training step captured once as a CUDA
//            Graph and replayed), tiny (models with N <= ML_TINY_MAX_N: one
//            warp per sample row instead of a mostly idle block; with
//            batched GEMMs, a group of a thousand tiny models is a handful
//            of launches per step), streams (groups too small to fill the
//            GPU train side by side, each on its own stream: see
//            cuda_side_by_side), lt (ReLU models: W1 x + b1 and the
//            activation as one cuBLASLt matmul with the RELU_BIAS epilogue,
//            per model, or strided-batched with batched; GELU and SoLU keep
//            the plain path; see lt_epilogue.cuh; not yet run on a GPU).
//
// Passes over the B x k arrays (PRE, H, dH) per training step, a GEMM's
// read or write of one counted as one pass:
//   ref:  forward 5 (GEMM writes PRE; bias_act reads PRE, writes PRE and H;
//         GEMM reads H), backward 8 (GEMM writes dH; act_backward reads dH,
//         H, PRE, writes dH; bias-grad slabs read dH; the dW2 and dW1 GEMMs
//         read H and dH): 13.
//   fused: backward 7 (act backward and slabs in one pass: 4): 12.
//   lt,fused (ReLU): forward 2 (the matmul writes H; GEMM reads H), backward
//         6 (GEMM writes dH; the fused pass reads dH and H, H standing in
//         for PRE, writes dH; dW2 and dW1 read H and dH): 8. The last two
//         of the ~6 the issue aims at need the ReLU derivative in the dH
//         GEMM's epilogue (DRELU), which lt_epilogue.cuh explains is not
//         sound here.
#include "cuda_check.h"
#include "embed_cuda.cuh"
#include "embed_similar_cuda.cuh"
#include "lt_epilogue.cuh"
#include "train_kernels.cuh"
#include <cstring>
extern "C" {
#include "monolab/backend.h"
#include "monolab/common.h"
#include "monolab/cuda_launch.h"
#include "monolab/elementwise.h"
}

struct kernel_variants {
    bool gather, fused, batched, graph, tiny, streams, lt;
};

static kernel_variants variants_from_env() {
    kernel_variants v = {false, false, false, false, false, false, false};
    const char *e = getenv("MONOLAB_KERNELS");
    if (!e || !*e || !strcmp(e, "ref")) return v;
    if (!strcmp(e, "fast")) return kernel_variants{true, true, true, true, true, true, true};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", e);
    for (char *save = nullptr, *t = strtok_r(buf, ",", &save); t; t = strtok_r(nullptr, ",", &save)) {
        if (!strcmp(t, "gather")) v.gather = true;
        else if (!strcmp(t, "fused")) v.fused = true;
        else if (!strcmp(t, "batched")) v.batched = true;
        else if (!strcmp(t, "graph")) v.graph = true;
        else if (!strcmp(t, "tiny")) v.tiny = true;
        else if (!strcmp(t, "streams")) v.streams = true;
        else if (!strcmp(t, "lt")) v.lt = true;
        else ml_die("MONOLAB_KERNELS: unknown variant '%s' (use ref, fast, or a comma list of gather, fused, "
                    "batched, graph, tiny, streams, lt)", t);
    }
    return v;
}

struct cuda_state {
    cublasHandle_t blas;
    cudaStream_t stream;
    kernel_variants var;
    cublasMath_t train_math;
    ml_dev_group d;
    float *params, *grads, *m1, *m2, *X, *T, *Y, *PRE, *H, *dH, *S, *ratio, *db1_part;
    double *rowloss, *loss, *part_p, *part_a;
    uint64_t *seed;
    float *lr, *decay, *l1, *feat_p, *Pt, *Qt;
    long long *frozen_at;
    void *workspace;     // cuBLAS workspace, set so that graph capture never allocates
    ml_lt *lt;           // lt variant: the fused first-layer matmul; null: the plain path
    // graph mode
    ml_step_params *step_table, *step_dev;
    long long *step_counter;
    cudaGraphExec_t graph;
    long next_step;
};

#define WORKSPACE_BYTES (32u << 20)

// Per-step time parameters, the same values the training loop passes.
static ml_step_params step_params(long t, float sched, int decay_on) {
    ml_step_params p;
    p.step = t;
    p.sched = sched;
    ml_adam_bias_correction(t, &p.bc1, &p.bc2s);
    p.decay_on = decay_on;
    return p;
}

static void *cuda_create(const ml_group *g) {
    if (g->shape.precision == PREC_BF16)
        ml_die("train.precision bf16 is not implemented in the CUDA backend yet; use fp32 or tf32");
    cuda_state *s = new cuda_state();
    s->var = variants_from_env();
    if (ml_cuda_sync_mode()) s->var.graph = false; // a capture cannot synchronise
    size_t G = g->G, B = g->B, np = g->n_param, ld = ml_ld_param(np), tot = 0;
    cudaCheck(cudaStreamCreate(&s->stream));
    cublasCheck(cublasCreate(&s->blas));
    cublasCheck(cublasSetStream(s->blas, s->stream));
    s->workspace = ml_dalloc<char>(WORKSPACE_BYTES, &tot);
    cublasCheck(cublasSetWorkspace(s->blas, s->workspace, WORKSPACE_BYTES));
    s->train_math = g->shape.precision == PREC_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_PEDANTIC_MATH;
    cublasCheck(cublasSetMathMode(s->blas, s->train_math));
    /* parameter-shaped buffers: one model every ld floats (ml_ld_param), the padding zero */
    s->params = ml_dalloc<float>(G * ld, &tot);
    cudaCheck(cudaMemset(s->params, 0, sizeof(float) * G * ld));
    cudaCheck(cudaMemcpy2D(s->params, sizeof(float) * ld, g->init_params, sizeof(float) * np, sizeof(float) * np, G,
                           cudaMemcpyHostToDevice));
    s->grads = ml_dalloc<float>(G * ld, &tot);
    s->m1 = ml_dalloc<float>(G * ld, &tot);
    s->m2 = ml_dalloc<float>(G * ld, &tot);
    cudaCheck(cudaMemset(s->m1, 0, sizeof(float) * G * ld));
    cudaCheck(cudaMemset(s->m2, 0, sizeof(float) * G * ld));
    s->X = ml_dalloc<float>(G * B * g->m, &tot);
    s->T = ml_dalloc<float>(G * B * g->out, &tot);
    s->Y = ml_dalloc<float>(G * B * g->out, &tot);
    s->PRE = ml_dalloc<float>(G * B * g->k, &tot);
    s->H = ml_dalloc<float>(G * B * g->k, &tot);
    s->dH = ml_dalloc<float>(G * B * g->k, &tot);
    s->S = ml_dalloc<float>(G * g->k * g->N, &tot);
    s->db1_part = ml_dalloc<float>(G * ml_db1_slabs(g->B) * g->k, &tot);
    s->rowloss = ml_dalloc<double>(G * B, &tot);
    s->loss = ml_dalloc<double>(G, &tot);
    int nc = ml_opt_n_chunks(g->off_b1, g->off_W2, np);
    s->part_p = ml_dalloc<double>(G * nc, &tot);
    s->part_a = ml_dalloc<double>(G * nc, &tot);
    s->ratio = ml_dalloc<float>(G * 3, &tot);
    s->seed = ml_dupload(g->seed, G, &tot);
    s->lr = ml_dupload(g->lr, G, &tot);
    s->decay = ml_dupload(g->decay, G, &tot);
    s->l1 = ml_dupload(g->l1, G, &tot);
    s->feat_p = ml_dupload(g->feat_p, G * g->N, &tot);
    s->Pt = ml_dupload(g->Pt, G * g->N * g->m, &tot);
    s->Qt = g->Qt ? ml_dupload(g->Qt, G * g->N * g->m, &tot) : nullptr;
    s->frozen_at = ml_dalloc<long long>(G, &tot);
    cudaCheck(cudaMemset(s->frozen_at, 0xff, sizeof(long long) * G)); /* all -1 */
    if (s->var.lt) { /* before the poison below: its trial matmul writes H. The workspace is shared with the
                        cuBLAS handle: both run on s->stream, in order, never at once. */
        ml_lt_shape sh = {g->G, g->m, g->k, g->B, (int)g->shape.act, ld, g->off_W1, g->off_b1, s->var.batched,
                          g->shape.precision == PREC_TF32};
        s->lt = ml_lt_create(sh, s->X, s->H, s->workspace, WORKSPACE_BYTES, s->stream, &tot);
    }
    if (getenv("MONOLAB_POISON")) { /* tests: every output must be written before it is read */
        float *work[] = {s->grads, s->X, s->T, s->Y, s->PRE, s->H, s->dH, s->S, s->db1_part};
        size_t n[] = {G * ld, G * B * g->m, G * B * g->out, G * B * g->out, G * B * g->k, G * B * g->k,
                      G * B * g->k, G * g->k * g->N, G * ml_db1_slabs(g->B) * g->k};
        for (int i = 0; i < 9; i++) cudaCheck(cudaMemset(work[i], 0xff, sizeof(float) * n[i])); /* NaN */
    }
    if (s->var.graph) { /* the whole run's step parameters, computed on the host as the loop does */
        const long steps = g->shape.steps;
        ml_step_params *tab = (ml_step_params *)ml_malloc(sizeof(ml_step_params) * (size_t)(steps ? steps : 1));
        for (long t = 0; t < steps; t++)
            tab[t] = step_params(t, (float)ml_schedule(g->shape.schedule, g->shape.t_max, t),
                                 ml_decay_on(t, steps));
        s->step_table = ml_dupload(tab, (size_t)(steps ? steps : 1), &tot);
        free(tab);
        s->step_dev = ml_dalloc<ml_step_params>(1, &tot);
        s->step_counter = ml_dalloc<long long>(1, &tot);
        cudaCheck(cudaMemset(s->step_counter, 0, sizeof(long long)));
    }
    s->d = ml_dev_group{g->G, g->N, g->m, g->k, g->out, g->B, (int)g->shape.act, (int)g->shape.task, np,
                        g->off_W1, g->off_b1, g->off_W2, ld, s->seed, s->lr, s->decay, s->l1, s->feat_p, s->Pt,
                        s->Qt, s->frozen_at};
    fprintf(stderr, "[monolab] cuda group of %d models: %.1f MB of device memory; kernels:%s%s%s%s%s%s%s%s\n", g->G,
            tot / 1e6, s->var.gather ? " gather" : "", s->var.fused ? " fused" : "", s->var.batched ? " batched" : "",
            s->var.graph ? " graph" : "", s->var.tiny ? " tiny" : "", s->var.streams ? " streams" : "",
            s->var.lt ? (s->lt ? " lt" : " lt(off: plain path)") : "",
            !(s->var.gather || s->var.fused || s->var.batched || s->var.graph || s->var.tiny || s->var.streams ||
              s->var.lt)
                ? " ref"
                : "");
    return s;
}

static void cuda_destroy(void *st) {
    cuda_state *s = (cuda_state *)st;
    if (!s) return;
    if (s->graph) cudaCheck(cudaGraphExecDestroy(s->graph));
    ml_lt_destroy(s->lt);
    void *bufs[] = {s->params, s->grads, s->m1, s->m2, s->X, s->T, s->Y, s->PRE, s->H, s->dH, s->S, s->ratio,
                    s->db1_part, s->rowloss, s->loss, s->part_p, s->part_a, s->seed, s->lr, s->decay, s->l1,
                    s->feat_p, s->Pt, s->Qt, s->frozen_at, s->workspace, s->step_table, s->step_dev,
                    s->step_counter};
    for (void *b : bufs)
        if (b) cudaCheck(cudaFree(b));
    cublasCheck(cublasDestroy(s->blas));
    cudaCheck(cudaStreamDestroy(s->stream));
    delete s;
}

// The step argument of a launch: by value, or from device memory in graph mode.
static ml_step_arg step_arg(const ml_step_params &v, const ml_step_params *dev) {
    ml_step_arg a;
    a.v = v;
    a.p = dev;
    return a;
}

static void sample_into(cuda_state *s, uint32_t stream, ml_step_arg sa) {
    // tiny first: for N <= ML_TINY_MAX_N a warp per row beats both others
    const int v = s->var.tiny && s->d.N <= ML_TINY_MAX_N ? ML_SAMPLE_TINY
                  : s->var.gather                      ? ML_SAMPLE_GATHER
                                                       : ML_SAMPLE_REF;
    ml_k_sample(s->d, stream, sa, v, s->X, s->T, s->stream);
}

static void cuda_sample(void *st, const ml_group *g, uint32_t stream, uint32_t step) {
    cuda_state *s = (cuda_state *)st;
    sample_into(s, stream, step_arg(step_params(step, 1.0f, 0), nullptr));
}

// Row-major C[M][N] = A op B for all G models: C is column-major N x M.
// ref: one GEMM per model (batch 1: the algorithm cannot depend on G);
// batched: one strided-batched GEMM for the group.
static void gemm(cuda_state *s, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float *A,
                 int lda, long long sa, const float *B, int ldb, long long sb, float *C, int ldc, long long sc,
                 int G) {
    const float one = 1.0f, zero = 0.0f;
    if (s->var.batched) {
        cublasCheck(cublasSgemmStridedBatched(s->blas, ta, tb, m, n, k, &one, A, lda, sa, B, ldb, sb, &zero, C, ldc,
                                              sc, G));
        return;
    }
    for (int i = 0; i < G; i++)
        cublasCheck(cublasSgemm(s->blas, ta, tb, m, n, k, &one, A + i * sa, lda, B + i * sb, ldb, &zero, C + i * sc,
                                ldc));
}

static void forward_into(cuda_state *s, const ml_group *g) {
    const int B = g->B, m = g->m, k = g->k, out = g->out, G = g->G;
    const long long np = (long long)s->d.ld_param; /* the models' parameter stride */
    if (s->lt) { /* H = relu(W1 x + b1) in one cuBLASLt matmul; PRE is not written (lt_epilogue.cuh) */
        ml_lt_forward(s->lt, s->params, s->X, s->H, s->stream);
    } else {
        /* PREᵀ (k x B) = W1 (k x m) · Xᵀ (m x B) */
        gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, k, B, m, s->params + g->off_W1, m, np, s->X, m, (long long)B * m, s->PRE,
             k, (long long)B * k, G);
        ml_k_bias_act(s->d, s->params, s->PRE, s->H, B, s->stream);
    }
    /* Yᵀ (out x B) = W2 (out x k) · Hᵀ (k x B) */
    gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, out, B, k, s->params + g->off_W2, k, np, s->H, k, (long long)B * k, s->Y, out,
         (long long)B * out, G);
}

static void cuda_forward(void *st, const ml_group *g) { forward_into((cuda_state *)st, g); }

static void backward_into(cuda_state *s, const ml_group *g, ml_step_arg sa) {
    const int B = g->B, m = g->m, k = g->k, out = g->out, G = g->G;
    const long long np = (long long)s->d.ld_param; /* the models' parameter stride */
    ml_k_loss_grad(s->d, s->Y, s->T, s->rowloss, 1, s->stream);
    ml_k_reduce_loss(s->d, s->rowloss, s->loss, sa, 1, s->stream);
    /* dHᵀ (k x B) = W2ᵀ (k x out) · dYᵀ (out x B) */
    gemm(s, CUBLAS_OP_N, CUBLAS_OP_N, k, B, out, s->params + g->off_W2, k, np, s->Y, out, (long long)B * out, s->dH, k,
         (long long)B * k, G);
    /* lt (ReLU only): PRE was not written; relu'(pre) = [pre > 0] = [h > 0] exactly, so H stands in for it */
    const float *pre = s->lt ? s->H : s->PRE;
    if (!s->var.fused) ml_k_act_backward(s->d, s->dH, s->H, pre, s->stream);
    ml_k_bias_grad(s->d, s->dH, s->H, pre, s->var.fused, s->db1_part, s->grads, s->stream); /* dH is dPRE after */
    /* dW2ᵀ (k x out) = Hᵀ (k x B) · dY (B x out) */
    gemm(s, CUBLAS_OP_N, CUBLAS_OP_T, k, out, B, s->H, k, (long long)B * k, s->Y, out, (long long)B * out,
         s->grads + g->off_W2, k, np, G);
    /* dW1ᵀ (m x k) = Xᵀ (m x B) · dPRE (B x k) */
    gemm(s, CUBLAS_OP_N, CUBLAS_OP_T, m, k, B, s->X, m, (long long)B * m, s->dH, k, (long long)B * k,
         s->grads + g->off_W1, m, np, G);
}

static void cuda_backward(void *st, const ml_group *g, long step) {
    cuda_state *s = (cuda_state *)st;
    backward_into(s, g, step_arg(step_params(step, 1.0f, 0), nullptr));
}

static void optimize_into(cuda_state *s, const ml_group *g, ml_step_arg sa) {
    ml_k_optimize(s->d, (int)g->shape.optimizer, (float)g->shape.weight_decay, s->params, s->grads, s->m1, s->m2,
                  s->part_p, s->part_a, s->ratio, sa, s->stream);
}

static void cuda_optimize(void *st, const ml_group *g, long step, float sched, int decay_on) {
    optimize_into((cuda_state *)st, g, step_arg(step_params(step, sched, decay_on), nullptr));
}

// One whole step that reads its time parameters from the device table
// (the next entry, by the device counter): what graph mode captures.
static void table_step(cuda_state *s, const ml_group *g) {
    ml_step_arg sa = step_arg(step_params(0, 1.0f, 0), s->step_dev);
    ml_k_step_fill(s->step_table, s->step_counter, s->step_dev, s->stream);
    sample_into(s, ML_STREAM_TRAIN, sa);
    forward_into(s, g);
    backward_into(s, g, sa);
    optimize_into(s, g, sa);
}

// Graph mode: step 0 runs table_step's calls as they are, outside any
// capture, because cuBLAS sets a handle's kernels up lazily at their first
// call and a capture must not contain that; step 1 captures the same calls
// as one graph, and every step from there replays it. The loop's own step,
// sched and decay_on must agree with the table (they come from the same
// functions); a mismatch is a bug, not bad input.
static void cuda_train_step(void *st, const ml_group *g, long step, float sched, int decay_on) {
    cuda_state *s = (cuda_state *)st;
    if (step != s->next_step)
        ml_fatal("internal: CUDA graph replay expected step %ld, the loop asked for %ld", s->next_step, step);
    (void)sched;
    (void)decay_on;
    if (step == 0) {
        table_step(s, g);
    } else {
        if (!s->graph) {
            cudaGraph_t graph;
            cudaCheck(cudaStreamBeginCapture(s->stream, cudaStreamCaptureModeThreadLocal));
            table_step(s, g);
            cudaCheck(cudaStreamEndCapture(s->stream, &graph));
            cudaCheck(cudaGraphInstantiate(&s->graph, graph, 0));
            cudaCheck(cudaGraphDestroy(graph));
        }
        cudaCheck(cudaGraphLaunch(s->graph, s->stream));
    }
    if (ml_cuda_sync_mode()) cudaCheck(cudaStreamSynchronize(s->stream));
    s->next_step = step + 1;
}

static void cuda_mse(void *st, const ml_group *g, double *out) {
    cuda_state *s = (cuda_state *)st;
    ml_k_loss_grad(s->d, s->Y, s->T, s->rowloss, 0, s->stream);
    ml_k_reduce_loss(s->d, s->rowloss, s->loss, step_arg(step_params(0, 1.0f, 0), nullptr), 0, s->stream);
    cudaCheck(cudaMemcpyAsync(out, s->loss, sizeof(double) * g->G, cudaMemcpyDeviceToHost, s->stream));
    cudaCheck(cudaStreamSynchronize(s->stream));
}

static void cuda_status(void *st, const ml_group *g, double *loss, long *frozen_at) {
    cuda_state *s = (cuda_state *)st;
    long long *fz = new long long[g->G];
    if (loss) cudaCheck(cudaMemcpyAsync(loss, s->loss, sizeof(double) * g->G, cudaMemcpyDeviceToHost, s->stream));
    cudaCheck(cudaMemcpyAsync(fz, s->frozen_at, sizeof(long long) * g->G, cudaMemcpyDeviceToHost, s->stream));
    cudaCheck(cudaStreamSynchronize(s->stream));
    if (frozen_at)
        for (int i = 0; i < g->G; i++) frozen_at[i] = (long)fz[i];
    delete[] fz;
}

// A parameter-shaped buffer ([G][ld_param] on the device) as [G][n_param].
static void download_params(cuda_state *s, const ml_group *g, const float *dev, float *out) {
    cudaCheck(cudaMemcpy2DAsync(out, sizeof(float) * g->n_param, dev, sizeof(float) * s->d.ld_param,
                                sizeof(float) * g->n_param, g->G, cudaMemcpyDeviceToHost, s->stream));
    cudaCheck(cudaStreamSynchronize(s->stream));
}

static void cuda_params(void *st, const ml_group *g, float *out) {
    cuda_state *s = (cuda_state *)st;
    download_params(s, g, s->params, out);
}

// S always in pedantic fp32, whatever the training precision: the metric's
// cut-offs (r > 0.999, S <= 0 for dead) must not move with TF32 rounding.
static void cuda_sfa(void *st, const ml_group *g, float *S) {
    cuda_state *s = (cuda_state *)st;
    const int N = g->N, m = g->m, k = g->k;
    cublasCheck(cublasSetMathMode(s->blas, CUBLAS_PEDANTIC_MATH));
    /* Sᵀ (N x k) = Pt (N x m) · W1ᵀ (m x k) */
    gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, N, k, m, s->Pt, m, (long long)N * m, s->params + g->off_W1, m,
         (long long)s->d.ld_param, s->S, N, (long long)k * N, g->G);
    cublasCheck(cublasSetMathMode(s->blas, s->train_math));
    ml_k_sfa_act(s->d, s->params, s->S, s->stream);
    cudaCheck(cudaMemcpyAsync(S, s->S, sizeof(float) * g->G * k * N, cudaMemcpyDeviceToHost, s->stream));
    cudaCheck(cudaStreamSynchronize(s->stream));
}

static void cuda_peek(void *st, const ml_group *g, const char *name, float *out) {
    cuda_state *s = (cuda_state *)st;
    const float *bufs[ML_N_BUFS] = {s->X, s->T, s->Y, s->PRE, s->H, s->dH, s->grads, s->m1, s->m2};
    size_t n;
    int i = ml_peek_buffer(g, name, &n);
    if (i >= ML_BUF_GRADS) { /* grads, m1, m2: parameter-shaped */
        download_params(s, g, bufs[i], out);
        return;
    }
    cudaCheck(cudaMemcpyAsync(out, bufs[i], sizeof(float) * n, cudaMemcpyDeviceToHost, s->stream));
    cudaCheck(cudaStreamSynchronize(s->stream));
}

// 80% of the device's total memory, in whole GiB: a property of the device
// model, so the group plan (and hence every result) is the same on every
// run on that kind of GPU, whatever else holds memory at the moment. A run
// that then finds too little free memory fails with cudaMalloc's message;
// MONOLAB_MEM_GB overrides the budget (sweep.c).
static size_t cuda_memory_budget(void) {
    cudaDeviceProp p;
    cudaCheck(cudaGetDeviceProperties(&p, 0));
    size_t gib = p.totalGlobalMem >> 30;
    return (gib << 30) / 10 * 8;
}

// Variant `streams`: how many groups of this shape train side by side
// (ml_train_groups), each in its own state with its own stream and cuBLAS
// handle. A step's widest pass touches about G·B·max(m, k, out) elements;
// the GPU is busy with about SMs x 2,048 resident threads x 4 elements
// each. A group below that leaves SMs idle, so as many such groups as
// would fill it run together, at most ML_MAX_SIDE_BY_SIDE. A function of
// the config and the device model only, so the waves (and the order of
// work) are the same on every run on that kind of GPU; each group's bits
// do not depend on its neighbours either way.
#define ML_MAX_SIDE_BY_SIDE 8
static int cuda_side_by_side(const ml_run *r, int G) {
    if (!variants_from_env().streams) return 1;
    static int sms = 0; // asked once: the planner calls this for every group
    if (!sms) cudaCheck(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    int out = ml_run_out_dim(r), wide = r->m > r->k ? r->m : r->k;
    if (out > wide) wide = out;
    double work = (double)G * r->batch * wide, full = sms * 2048.0 * 4.0;
    double w = full / (work > 1 ? work : 1);
    return w >= ML_MAX_SIDE_BY_SIDE ? ML_MAX_SIDE_BY_SIDE : w < 1 ? 1 : (int)w;
}

// One entry for both modes: train_step is set per process, by the variant.
static void cuda_train_step_dispatch(void *st, const ml_group *g, long step, float sched, int decay_on) {
    cuda_state *s = (cuda_state *)st;
    if (s->var.graph) {
        cuda_train_step(st, g, step, sched, decay_on);
        return;
    }
    cuda_sample(st, g, ML_STREAM_TRAIN, (uint32_t)step);
    cuda_forward(st, g);
    cuda_backward(st, g, step);
    cuda_optimize(st, g, step, sched, decay_on);
}

extern "C" {
const ml_backend ml_backend_cuda = {
    "cuda", cuda_create, cuda_destroy, cuda_sample, cuda_forward, cuda_backward, cuda_optimize, cuda_mse,
    cuda_status, cuda_params, cuda_sfa, cuda_peek, cuda_memory_budget, ml_embed_cuda, ml_similar_topk_cuda,
    cuda_train_step_dispatch,
    cuda_side_by_side,
};

int ml_cuda_device_id(ml_device_id *id) {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
        cudaGetLastError(); /* clear the sticky error */
        return 0;
    }
    cudaDeviceProp p;
    cudaCheck(cudaGetDeviceProperties(&p, 0));
    memset(id, 0, sizeof *id);
    snprintf(id->name, sizeof id->name, "%s", p.name);
    for (int i = 0; i < 16; i++) snprintf(id->uuid + 2 * i, 3, "%02x", (unsigned char)p.uuid.bytes[i]);
    id->cc_major = p.major;
    id->cc_minor = p.minor;
    cudaCheck(cudaDriverGetVersion(&id->driver));
    cudaCheck(cudaRuntimeGetVersion(&id->runtime));
    return 1;
}

const ml_backend *ml_backend_cuda_get(char *reason, size_t len) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n == 0) {
        snprintf(reason, len, "no usable CUDA device (%s)", e != cudaSuccess ? cudaGetErrorString(e) : "0 devices");
        cudaGetLastError(); /* clear the sticky error */
        return nullptr;
    }
    cudaDeviceProp p;
    cudaCheck(cudaGetDeviceProperties(&p, 0));
    snprintf(reason, len, "%s, %.1f GB, sm_%d%d", p.name, p.totalGlobalMem / 1e9, p.major, p.minor);
    return &ml_backend_cuda;
}
}
