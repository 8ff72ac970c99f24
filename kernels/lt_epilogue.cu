// cuBLASLt plumbing of the `lt` kernel variant: see lt_epilogue.cuh for
// what it computes, for which activations, and why backward is not fused.
// NOT YET RUN ON A GPU.
//
// Layout (as backend_cuda.cu's GEMMs): row-major [r][c] buffers are read by
// cuBLAS as column-major c x r, so per model
//   Hᵀ (k x B, ld k) = relu( W1ᵀᵀ (op T of the stored m x k, ld m) · Xᵀ (m x B, ld m) + b1 (length k) ).
// The bias vector has the length of D's rows (k) and is broadcast over its
// B columns, as CUBLASLT_EPILOGUE_BIAS requires.
//
// Alignment: cuBLASLt's heuristic assumes 256-byte aligned operands unless
// told otherwise, and its bias epilogue wants an aligned bias. A model's W1
// and b1 sit at params + g * ld_param (+ their offsets), aligned to as little as 4 bytes.
// So each step first copies W1 and b1 of every model into padded buffers
// whose per-model strides are multiples of 64 floats (256 bytes): a pass
// over G (k m + k) floats, small beside the B x k activations (B >= m in
// every useful shape). X and H are used in place; their alignment is a
// function of B, m and k only, never of G or of the model's index, so a
// model's algorithm (hence its bits, without `batched`) cannot depend on
// its group.
#include "cuda_check.h"
#include "lt_epilogue.cuh"
#include "train_kernels.cuh"
#include <atomic>
#include <cstdint>
#include <cublasLt.h>
extern "C" {
#include "monolab/config.h"
}

#define LT_PAD 64 // floats: per-model strides of the staged W1 and b1, 256 bytes

struct ml_lt {
    ml_lt_shape sh;
    cublasLtHandle_t h;
    cublasLtMatmulDesc_t op;
    cublasLtMatrixLayout_t a, b, d; // W1 (as stored), X, H (C shares D's layout: beta = 0, C = D)
    cublasLtMatmulAlgo_t algo;
    float *w1, *b1; // staged copies, [G][w1_stride], [G][b1_stride]
    size_t w1_stride, b1_stride;
    void *workspace;
    size_t workspace_bytes;
};

bool ml_lt_has_epilogue(int act) { return act == ACT_RELU; }

static size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

// The largest power of two dividing `bytes`, at most 256: the alignment of
// every base + i * bytes when the base (a cudaMalloc) is 256-byte aligned.
static uint32_t alignment_of(size_t bytes) {
    uint32_t a = 256;
    while (a > 4 && bytes % a) a >>= 1;
    return a;
}

// W1 and b1 of every model into the padded copies, one element per thread
// of a grid-stride loop (ml_grid_for honours the tests' MONOLAB_GRID_CAP).
__global__ void lt_stage_kernel(int G, int k, int m, size_t ld_param, size_t off_W1, size_t off_b1,
                                const float *params, float *w1, size_t w1_stride, float *b1, size_t b1_stride) {
    const size_t km = (size_t)k * m, per = km + (size_t)k, n = (size_t)G * per;
    for (size_t e = blockIdx.x * (size_t)blockDim.x + threadIdx.x; e < n; e += (size_t)gridDim.x * blockDim.x) {
        const size_t gi = e / per, i = e % per;
        const float *p = params + gi * ld_param;
        if (i < km) w1[gi * w1_stride + i] = p[off_W1 + i];
        else b1[gi * b1_stride + (i - km)] = p[off_b1 + (i - km)];
    }
}

template <typename T> static void set_desc(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t at, T v) {
    cublasCheck(cublasLtMatmulDescSetAttribute(d, at, &v, sizeof v));
}
template <typename T> static void set_layout(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t at, T v) {
    cublasCheck(cublasLtMatrixLayoutSetAttribute(l, at, &v, sizeof v));
}
template <typename T> static void set_pref(cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t at, T v) {
    cublasCheck(cublasLtMatmulPreferenceSetAttribute(p, at, &v, sizeof v));
}

// A column-major rows x cols fp32 layout; with `batched`, G of them
// `stride` floats apart.
static cublasLtMatrixLayout_t layout(uint64_t rows, uint64_t cols, int64_t ld, const ml_lt_shape &sh,
                                     int64_t stride) {
    cublasLtMatrixLayout_t l;
    cublasCheck(cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, rows, cols, ld));
    if (sh.batched) {
        set_layout<int32_t>(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, sh.G);
        set_layout<int64_t>(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, stride);
    }
    return l;
}

// The matmul(s) of one forward, on the staged weights; the status of the
// first failing call (CUBLAS_STATUS_SUCCESS when all ran).
static cublasStatus_t lt_matmul(ml_lt *lt, const float *X, float *H, cudaStream_t s) {
    const ml_lt_shape &sh = lt->sh;
    const float one = 1.0f, zero = 0.0f;
    const int calls = sh.batched ? 1 : sh.G;
    for (int g = 0; g < calls; g++) {
        const float *bias = lt->b1 + (size_t)g * lt->b1_stride;
        // host-side descriptor state, read at the call: safe inside a graph capture
        cublasStatus_t st = cublasLtMatmulDescSetAttribute(lt->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                           sizeof bias);
        if (st != CUBLAS_STATUS_SUCCESS) return st;
        float *Hg = H + (size_t)g * sh.B * sh.k;
        st = cublasLtMatmul(lt->h, lt->op, &one, lt->w1 + (size_t)g * lt->w1_stride, lt->a,
                            X + (size_t)g * sh.B * sh.m, lt->b, &zero, Hg, lt->d, Hg, lt->d, &lt->algo,
                            lt->workspace, lt->workspace_bytes, s);
        if (st != CUBLAS_STATUS_SUCCESS) return st;
    }
    return CUBLAS_STATUS_SUCCESS;
}

// One line, once per process (groups may be created from several
// threads): the fused product is off for this group.
static ml_lt *give_up(ml_lt *lt, const char *why, int status) {
    static std::atomic<bool> said{false};
    if (!said.exchange(true)) {
        fprintf(stderr,
                "[monolab] lt: %s (cuBLAS status %d) for k=%d m=%d B=%d%s; this group (and any other that "
                "fails) runs the plain GEMM + bias_act path instead\n",
                why, status, lt->sh.k, lt->sh.m, lt->sh.B, lt->sh.tf32 ? " tf32" : " fp32");
    }
    ml_lt_destroy(lt);
    return nullptr;
}

ml_lt *ml_lt_create(const ml_lt_shape &sh, const float *X, float *H, void *workspace, size_t workspace_bytes,
                    cudaStream_t s, size_t *total) {
    if (!ml_lt_has_epilogue(sh.act)) return nullptr;
    ml_lt *lt = new ml_lt();
    lt->sh = sh;
    lt->workspace = workspace;
    lt->workspace_bytes = workspace_bytes;
    lt->w1_stride = round_up((size_t)sh.k * sh.m, LT_PAD);
    lt->b1_stride = round_up((size_t)sh.k, LT_PAD);
    cudaCheck(cudaMalloc(&lt->w1, sizeof(float) * sh.G * lt->w1_stride));
    cudaCheck(cudaMalloc(&lt->b1, sizeof(float) * sh.G * lt->b1_stride));
    cublasCheck(cublasLtCreate(&lt->h));

    lt->a = layout(sh.m, sh.k, sh.m, sh, (int64_t)lt->w1_stride);
    lt->b = layout(sh.m, sh.B, sh.m, sh, (int64_t)sh.B * sh.m);
    lt->d = layout(sh.k, sh.B, sh.k, sh, (int64_t)sh.B * sh.k);
    cublasLtMatmulPreference_t pref;
    cublasCheck(cublasLtMatmulPreferenceCreate(&pref));
    set_pref<uint64_t>(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, (uint64_t)workspace_bytes);
    set_pref<uint32_t>(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, 256); // staged, padded
    set_pref<uint32_t>(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                       alignment_of(sizeof(float) * (size_t)sh.B * sh.m));
    set_pref<uint32_t>(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES,
                       alignment_of(sizeof(float) * (size_t)sh.B * sh.k));
    set_pref<uint32_t>(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES,
                       alignment_of(sizeof(float) * (size_t)sh.B * sh.k));

    // The compute type follows the group's precision, as the cuBLAS math
    // mode does for the plain GEMMs. For fp32, PEDANTIC first (what the
    // plain GEMMs use); cuBLASLt does not document which epilogues it
    // implements in PEDANTIC, so if none, COMPUTE_32F: still fp32 inputs
    // and accumulation (TF32 needs FAST_TF32), said once on stderr.
    const cublasComputeType_t cts[2] = {sh.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F_PEDANTIC,
                                        CUBLAS_COMPUTE_32F};
    cublasLtMatmulHeuristicResult_t res = {};
    int found = 0;
    cublasStatus_t st = CUBLAS_STATUS_NOT_SUPPORTED;
    for (int c = 0; c < (sh.tf32 ? 1 : 2) && !found; c++) {
        if (lt->op) cublasCheck(cublasLtMatmulDescDestroy(lt->op));
        cublasCheck(cublasLtMatmulDescCreate(&lt->op, cts[c], CUDA_R_32F));
        set_desc<int32_t>(lt->op, CUBLASLT_MATMUL_DESC_TRANSA, CUBLAS_OP_T);
        set_desc<int32_t>(lt->op, CUBLASLT_MATMUL_DESC_TRANSB, CUBLAS_OP_N);
        set_desc<uint32_t>(lt->op, CUBLASLT_MATMUL_DESC_EPILOGUE, CUBLASLT_EPILOGUE_RELU_BIAS);
        set_desc<int32_t>(lt->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, CUDA_R_32F);
        set_desc<const float *>(lt->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, lt->b1); // the heuristic reads its alignment
        if (sh.batched) set_desc<int64_t>(lt->op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, (int64_t)lt->b1_stride);
        st = cublasLtMatmulAlgoGetHeuristic(lt->h, lt->op, lt->a, lt->b, lt->d, lt->d, pref, 1, &res, &found);
        if (st != CUBLAS_STATUS_SUCCESS || res.state != CUBLAS_STATUS_SUCCESS) found = 0;
        if (found && c == 1) {
            static std::atomic<bool> said{false};
            if (!said.exchange(true))
                fprintf(stderr, "[monolab] lt: no RELU_BIAS algorithm in CUBLAS_COMPUTE_32F_PEDANTIC for k=%d m=%d B=%d; "
                                "fp32 groups use CUBLAS_COMPUTE_32F for it\n", sh.k, sh.m, sh.B);
        }
    }
    cublasCheck(cublasLtMatmulPreferenceDestroy(pref));
    if (!found)
        return give_up(lt, "no cuBLASLt algorithm with the RELU_BIAS epilogue",
                       st != CUBLAS_STATUS_SUCCESS ? (int)st : (int)res.state);
    lt->algo = res.algo;

    // A trial, outside any capture: a configuration cuBLASLt accepts in the
    // heuristic but refuses at the call falls back here, not mid-run. It
    // reads the (uninitialised) staged weights and X and overwrites H,
    // before the caller poisons or fills them.
    st = lt_matmul(lt, X, H, s);
    if (st != CUBLAS_STATUS_SUCCESS) return give_up(lt, "the trial cuBLASLt matmul failed", (int)st);
    cudaCheck(cudaStreamSynchronize(s));
    *total += sizeof(float) * sh.G * (lt->w1_stride + lt->b1_stride);
    return lt;
}

void ml_lt_forward(ml_lt *lt, const float *params, const float *X, float *H, cudaStream_t s) {
    const ml_lt_shape &sh = lt->sh;
    ML_LAUNCH(lt_stage_kernel, ml_grid_for((size_t)sh.G * ((size_t)sh.k * sh.m + sh.k)), ML_GRID_THREADS, 0, s)(
        sh.G, sh.k, sh.m, sh.ld_param, sh.off_W1, sh.off_b1, params, lt->w1, lt->w1_stride, lt->b1, lt->b1_stride);
    cudaLaunchCheck("lt_stage");
    cublasCheck(lt_matmul(lt, X, H, s));
    if (ml_cuda_sync_mode()) cudaCheck(cudaStreamSynchronize(s)); // MONOLAB_CUDA_SYNC: name the matmul's faults
}

void ml_lt_destroy(ml_lt *lt) {
    if (!lt) return;
    if (lt->a) cublasCheck(cublasLtMatrixLayoutDestroy(lt->a));
    if (lt->b) cublasCheck(cublasLtMatrixLayoutDestroy(lt->b));
    if (lt->d) cublasCheck(cublasLtMatrixLayoutDestroy(lt->d));
    if (lt->op) cublasCheck(cublasLtMatmulDescDestroy(lt->op));
    if (lt->h) cublasCheck(cublasLtDestroy(lt->h));
    if (lt->w1) cudaCheck(cudaFree(lt->w1));
    if (lt->b1) cudaCheck(cudaFree(lt->b1));
    delete lt;
}
