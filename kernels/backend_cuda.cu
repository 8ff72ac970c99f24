// CUDA backend: the twin of src/backend_cpu.c behind the same ml_backend
// interface. Matrix products are cuBLAS strided-batched GEMMs over the G
// models of a group (one launch per product for the whole group); every
// other step is one of the kernels in train_kernels.cu. Row-major [r][c]
// buffers are read by cuBLAS as column-major c x r, hence the transposes.
#include "cuda_check.h"
#include "train_kernels.cuh"
#include <cstring>
extern "C" {
#include "monolab/backend.h"
#include "monolab/common.h"
#include "monolab/elementwise.h"
}

struct cuda_state {
    cublasHandle_t blas;
    cudaStream_t stream;
    ml_dev_group d;
    float *params, *grads, *m1, *m2, *X, *T, *Y, *PRE, *H, *dH, *S, *ratio;
    double *rowloss, *loss, *part_p, *part_a;
    uint64_t *seed;
    float *lr, *decay, *l1, *feat_p, *Pt, *Qt;
    long long *frozen_at;
};

template <typename T> static T *dalloc(size_t n, size_t *total) {
    T *p = nullptr;
    cudaCheck(cudaMalloc(&p, sizeof(T) * (n ? n : 1)));
    *total += sizeof(T) * (n ? n : 1);
    return p;
}

template <typename T> static T *upload(const T *h, size_t n, size_t *total) {
    T *p = dalloc<T>(n, total);
    cudaCheck(cudaMemcpy(p, h, sizeof(T) * n, cudaMemcpyHostToDevice));
    return p;
}

static void *cuda_create(const ml_group *g) {
    if (g->shape.precision == PREC_BF16)
        ml_die("train.precision bf16 is not implemented in the CUDA backend yet; use fp32 or tf32");
    cuda_state *s = new cuda_state();
    size_t G = g->G, B = g->B, np = g->n_param, tot = 0;
    cudaCheck(cudaStreamCreate(&s->stream));
    cublasCheck(cublasCreate(&s->blas));
    cublasCheck(cublasSetStream(s->blas, s->stream));
    cublasCheck(cublasSetMathMode(s->blas, g->shape.precision == PREC_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                                          : CUBLAS_PEDANTIC_MATH));
    s->params = upload(g->init_params, G * np, &tot);
    s->grads = dalloc<float>(G * np, &tot);
    s->m1 = dalloc<float>(G * np, &tot);
    s->m2 = dalloc<float>(G * np, &tot);
    cudaCheck(cudaMemset(s->m1, 0, sizeof(float) * G * np));
    cudaCheck(cudaMemset(s->m2, 0, sizeof(float) * G * np));
    s->X = dalloc<float>(G * B * g->m, &tot);
    s->T = dalloc<float>(G * B * g->out, &tot);
    s->Y = dalloc<float>(G * B * g->out, &tot);
    s->PRE = dalloc<float>(G * B * g->k, &tot);
    s->H = dalloc<float>(G * B * g->k, &tot);
    s->dH = dalloc<float>(G * B * g->k, &tot);
    s->S = dalloc<float>(G * g->k * g->N, &tot);
    s->rowloss = dalloc<double>(G * B, &tot);
    s->loss = dalloc<double>(G, &tot);
    int nc = ml_opt_n_chunks(g->off_b1, g->off_W2, np);
    s->part_p = dalloc<double>(G * nc, &tot);
    s->part_a = dalloc<double>(G * nc, &tot);
    s->ratio = dalloc<float>(G * 3, &tot);
    s->seed = upload(g->seed, G, &tot);
    s->lr = upload(g->lr, G, &tot);
    s->decay = upload(g->decay, G, &tot);
    s->l1 = upload(g->l1, G, &tot);
    s->feat_p = upload(g->feat_p, G * g->N, &tot);
    s->Pt = upload(g->Pt, G * g->N * g->m, &tot);
    s->Qt = g->Qt ? upload(g->Qt, G * g->N * g->m, &tot) : nullptr;
    s->frozen_at = dalloc<long long>(G, &tot);
    cudaCheck(cudaMemset(s->frozen_at, 0xff, sizeof(long long) * G)); /* all -1 */
    if (getenv("MONOLAB_POISON")) { /* tests: every output must be written before it is read */
        float *work[] = {s->grads, s->X, s->T, s->Y, s->PRE, s->H, s->dH, s->S};
        size_t n[] = {G * np, G * B * g->m, G * B * g->out, G * B * g->out, G * B * g->k, G * B * g->k,
                      G * B * g->k, G * g->k * g->N};
        for (int i = 0; i < 8; i++) cudaCheck(cudaMemset(work[i], 0xff, sizeof(float) * n[i])); /* NaN */
    }
    s->d = ml_dev_group{g->G, g->N, g->m, g->k, g->out, g->B, (int)g->shape.act, (int)g->shape.task, np,
                        g->off_W1, g->off_b1, g->off_W2, s->seed, s->lr, s->decay, s->l1, s->feat_p, s->Pt,
                        s->Qt, s->frozen_at};
    fprintf(stderr, "[monolab] cuda group of %d models: %.1f MB of device memory\n", g->G, tot / 1e6);
    return s;
}

static void cuda_destroy(void *st) {
    cuda_state *s = (cuda_state *)st;
    if (!s) return;
    void *bufs[] = {s->params, s->grads, s->m1, s->m2, s->X, s->T, s->Y, s->PRE, s->H, s->dH, s->S, s->ratio,
                    s->rowloss, s->loss, s->part_p, s->part_a, s->seed, s->lr, s->decay, s->l1, s->feat_p,
                    s->Pt, s->Qt, s->frozen_at};
    for (void *b : bufs)
        if (b) cudaCheck(cudaFree(b));
    cublasCheck(cublasDestroy(s->blas));
    cudaCheck(cudaStreamDestroy(s->stream));
    delete s;
}

static void cuda_sample(void *st, const ml_group *g, uint32_t stream, uint32_t step) {
    (void)g;
    cuda_state *s = (cuda_state *)st;
    ml_k_sample(s->d, stream, step, s->X, s->T, s->stream);
}

// Row-major C[M][N] (+)= A op B for all G models: C is column-major N x M.
static void gemm(cuda_state *s, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const float *A,
                 int lda, long long sa, const float *B, int ldb, long long sb, float *C, int ldc, long long sc,
                 int G) {
    const float one = 1.0f, zero = 0.0f;
    cublasCheck(cublasSgemmStridedBatched(s->blas, ta, tb, m, n, k, &one, A, lda, sa, B, ldb, sb, &zero, C, ldc, sc,
                                          G));
}

static void cuda_forward(void *st, const ml_group *g) {
    cuda_state *s = (cuda_state *)st;
    const int B = g->B, m = g->m, k = g->k, out = g->out, G = g->G;
    const long long np = (long long)g->n_param;
    /* PREᵀ (k x B) = W1 (k x m) · Xᵀ (m x B) */
    gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, k, B, m, s->params + g->off_W1, m, np, s->X, m, (long long)B * m, s->PRE, k,
         (long long)B * k, G);
    ml_k_bias_act(s->d, s->params, s->PRE, s->H, B, s->stream);
    /* Yᵀ (out x B) = W2 (out x k) · Hᵀ (k x B) */
    gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, out, B, k, s->params + g->off_W2, k, np, s->H, k, (long long)B * k, s->Y, out,
         (long long)B * out, G);
}

static void cuda_backward(void *st, const ml_group *g, long step) {
    cuda_state *s = (cuda_state *)st;
    const int B = g->B, m = g->m, k = g->k, out = g->out, G = g->G;
    const long long np = (long long)g->n_param;
    ml_k_loss_grad(s->d, s->Y, s->T, s->rowloss, 1, s->stream);
    ml_k_reduce_loss(s->d, s->rowloss, s->loss, step, 1, s->stream);
    /* dHᵀ (k x B) = W2ᵀ (k x out) · dYᵀ (out x B) */
    gemm(s, CUBLAS_OP_N, CUBLAS_OP_N, k, B, out, s->params + g->off_W2, k, np, s->Y, out, (long long)B * out, s->dH, k,
         (long long)B * k, G);
    ml_k_act_backward(s->d, s->dH, s->H, s->PRE, s->stream);
    /* dW2ᵀ (k x out) = Hᵀ (k x B) · dY (B x out) */
    gemm(s, CUBLAS_OP_N, CUBLAS_OP_T, k, out, B, s->H, k, (long long)B * k, s->Y, out, (long long)B * out,
         s->grads + g->off_W2, k, np, G);
    /* dW1ᵀ (m x k) = Xᵀ (m x B) · dPRE (B x k) */
    gemm(s, CUBLAS_OP_N, CUBLAS_OP_T, m, k, B, s->X, m, (long long)B * m, s->dH, k, (long long)B * k,
         s->grads + g->off_W1, m, np, G);
    ml_k_bias_grad(s->d, s->dH, s->grads, s->stream);
}

static void cuda_optimize(void *st, const ml_group *g, long step, float sched, int decay_on) {
    cuda_state *s = (cuda_state *)st;
    ml_k_optimize(s->d, (int)g->shape.optimizer, (float)g->shape.weight_decay, s->params, s->grads, s->m1, s->m2,
                  s->part_p, s->part_a, s->ratio, step, sched, decay_on, s->stream);
}

static void cuda_mse(void *st, const ml_group *g, double *out) {
    cuda_state *s = (cuda_state *)st;
    ml_k_loss_grad(s->d, s->Y, s->T, s->rowloss, 0, s->stream);
    ml_k_reduce_loss(s->d, s->rowloss, s->loss, 0, 0, s->stream);
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

static void cuda_params(void *st, const ml_group *g, float *out) {
    cuda_state *s = (cuda_state *)st;
    cudaCheck(cudaMemcpyAsync(out, s->params, sizeof(float) * g->G * g->n_param, cudaMemcpyDeviceToHost, s->stream));
    cudaCheck(cudaStreamSynchronize(s->stream));
}

static void cuda_sfa(void *st, const ml_group *g, float *S) {
    cuda_state *s = (cuda_state *)st;
    const int N = g->N, m = g->m, k = g->k;
    /* Sᵀ (N x k) = Pt (N x m) · W1ᵀ (m x k) */
    gemm(s, CUBLAS_OP_T, CUBLAS_OP_N, N, k, m, s->Pt, m, (long long)N * m, s->params + g->off_W1, m,
         (long long)g->n_param, s->S, N, (long long)k * N, g->G);
    ml_k_sfa_act(s->d, s->params, s->S, s->stream);
    cudaCheck(cudaMemcpyAsync(S, s->S, sizeof(float) * g->G * k * N, cudaMemcpyDeviceToHost, s->stream));
    cudaCheck(cudaStreamSynchronize(s->stream));
}

static void cuda_peek(void *st, const ml_group *g, const char *name, float *out) {
    cuda_state *s = (cuda_state *)st;
    const float *bufs[ML_N_BUFS] = {s->X, s->T, s->Y, s->PRE, s->H, s->dH, s->grads, s->m1, s->m2};
    size_t n;
    int i = ml_peek_buffer(g, name, &n);
    cudaCheck(cudaMemcpyAsync(out, bufs[i], sizeof(float) * n, cudaMemcpyDeviceToHost, s->stream));
    cudaCheck(cudaStreamSynchronize(s->stream));
}

static size_t cuda_memory_budget(void) {
    size_t free_b = 0, total_b = 0;
    cudaCheck(cudaMemGetInfo(&free_b, &total_b));
    return free_b / 10 * 9; /* leave room for cuBLAS workspaces */
}

extern "C" {
const ml_backend ml_backend_cuda = {
    "cuda", cuda_create, cuda_destroy, cuda_sample, cuda_forward, cuda_backward, cuda_optimize, cuda_mse,
    cuda_status, cuda_params, cuda_sfa, cuda_peek, cuda_memory_budget, ml_embed_cuda,
};

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
