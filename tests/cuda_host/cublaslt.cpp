// cuBLASLt on the shared product of blas.h, for the CPU execution layer
// (what it models and checks: cublasLt.h).
#include "cublasLt.h"
#include "blas.h"
#include "cuda_host.h"
#include <cmath>

struct cuda_host_lt { int unused; };
struct cuda_host_lt_desc {
    cublasComputeType_t compute;
    int32_t transa = CUBLAS_OP_N, transb = CUBLAS_OP_N, bias_type = CUDA_R_32F;
    uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    const float *bias = nullptr;
    int64_t bias_stride = 0;
};
struct cuda_host_lt_layout {
    uint32_t type;
    int32_t order = CUBLASLT_ORDER_COL, batch = 1;
    uint64_t rows, cols;
    int64_t ld, stride = 0;
};
struct cuda_host_lt_pref {
    uint64_t workspace = 0;
    uint32_t align[4] = {256, 256, 256, 256}; // A B C D; cuBLASLt's default is 256
};

using namespace cuda_host;

// An attribute's value, when its size is the documented one.
template <class T> static cublasStatus_t read_attr(T *out, const void *v, size_t size) {
    if (size != sizeof(T) || !v) return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(out, v, sizeof(T));
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h) {
    *h = new cuda_host_lt();
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtDestroy(cublasLtHandle_t h) {
    delete h;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute, cudaDataType_t scale) {
    if (scale != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    *d = new cuda_host_lt_desc();
    (*d)->compute = compute;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d) {
    delete d;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a, const void *v,
                                              size_t size) {
    switch (a) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return read_attr(&d->transa, v, size);
    case CUBLASLT_MATMUL_DESC_TRANSB: return read_attr(&d->transb, v, size);
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return read_attr(&d->epilogue, v, size);
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return read_attr(&d->bias, v, size);
    case CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE: return read_attr(&d->bias_stride, v, size);
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: return read_attr(&d->bias_type, v, size);
    default: warn("cublasLtMatmulDescSetAttribute(%d): not modelled", (int)a); return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}
cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType_t type, uint64_t rows,
                                          uint64_t cols, int64_t ld) {
    *l = new cuda_host_lt_layout();
    (*l)->type = type;
    (*l)->rows = rows;
    (*l)->cols = cols;
    (*l)->ld = ld;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l) {
    delete l;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t a,
                                                const void *v, size_t size) {
    switch (a) {
    case CUBLASLT_MATRIX_LAYOUT_ORDER: return read_attr(&l->order, v, size);
    case CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT: return read_attr(&l->batch, v, size);
    case CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET: return read_attr(&l->stride, v, size);
    case CUBLASLT_MATRIX_LAYOUT_ROWS: return read_attr(&l->rows, v, size);
    case CUBLASLT_MATRIX_LAYOUT_COLS: return read_attr(&l->cols, v, size);
    case CUBLASLT_MATRIX_LAYOUT_LD: return read_attr(&l->ld, v, size);
    default: warn("cublasLtMatrixLayoutSetAttribute(%d): not modelled", (int)a); return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}
cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p) {
    *p = new cuda_host_lt_pref();
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p) {
    delete p;
    return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                    cublasLtMatmulPreferenceAttributes_t a, const void *v,
                                                    size_t size) {
    switch (a) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES: return read_attr(&p->workspace, v, size);
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES:
        return read_attr(&p->align[a - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES], v, size);
    default: warn("cublasLtMatmulPreferenceSetAttribute(%d): not modelled", (int)a); return CUBLAS_STATUS_NOT_SUPPORTED;
    }
}

// The shape a descriptor and its layouts describe, if they agree.
struct lt_shape {
    bool ta, tb;
    long m, n, k;
    int batch;
};
static cublasStatus_t shape_of(const cuda_host_lt_desc *op, const cuda_host_lt_layout *A,
                               const cuda_host_lt_layout *B, const cuda_host_lt_layout *C,
                               const cuda_host_lt_layout *D, lt_shape *s) {
    const cuda_host_lt_layout *all[4] = {A, B, C, D};
    for (auto *l : all)
        if (l->type != CUDA_R_32F || l->order != CUBLASLT_ORDER_COL || l->ld < (int64_t)(l->rows ? l->rows : 1))
            return CUBLAS_STATUS_NOT_SUPPORTED;
    s->ta = op->transa == CUBLAS_OP_T;
    s->tb = op->transb == CUBLAS_OP_T;
    s->m = (long)(s->ta ? A->cols : A->rows);
    s->k = (long)(s->ta ? A->rows : A->cols);
    s->n = (long)(s->tb ? B->rows : B->cols);
    const long kb = (long)(s->tb ? B->cols : B->rows);
    if (kb != s->k || (long)D->rows != s->m || (long)D->cols != s->n || C->rows != D->rows || C->cols != D->cols)
        return CUBLAS_STATUS_INVALID_VALUE;
    s->batch = D->batch;
    for (auto *l : all)
        if (l->batch != s->batch) return CUBLAS_STATUS_INVALID_VALUE;
    if (op->bias_type != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
    return CUBLAS_STATUS_SUCCESS;
}

static bool has_bias(uint32_t e) { return e == CUBLASLT_EPILOGUE_BIAS || e == CUBLASLT_EPILOGUE_RELU_BIAS; }
static bool known_epilogue(uint32_t e) {
    return e == CUBLASLT_EPILOGUE_DEFAULT || e == CUBLASLT_EPILOGUE_RELU || has_bias(e);
}

// The largest power of two (up to 256) that divides the address.
static uint32_t alignment(const void *p) {
    uint32_t a = 256;
    while (a > 1 && (uintptr_t)p % a) a >>= 1;
    return a;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t A,
                                              cublasLtMatrixLayout_t B, cublasLtMatrixLayout_t C,
                                              cublasLtMatrixLayout_t D, cublasLtMatmulPreference_t pref,
                                              int requested, cublasLtMatmulHeuristicResult_t *results, int *found) {
    *found = 0;
    if (!h || !op || requested < 1) return CUBLAS_STATUS_INVALID_VALUE;
    lt_shape s;
    if (cublasStatus_t st = shape_of(op, A, B, C, D, &s)) return st;
    if (!known_epilogue(op->epilogue)) return CUBLAS_STATUS_NOT_SUPPORTED;
    if (op->compute != CUBLAS_COMPUTE_32F && op->compute != CUBLAS_COMPUTE_32F_PEDANTIC &&
        op->compute != CUBLAS_COMPUTE_32F_FAST_TF32)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    const char *none = getenv("CUDA_HOST_LT_NO_ALGO");
    if (none && (!strcmp(none, "all") || (!strcmp(none, "pedantic") && op->compute == CUBLAS_COMPUTE_32F_PEDANTIC)))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    // the bias pointer's alignment is read here, as cuBLASLt reads it
    if (has_bias(op->epilogue) && (!op->bias || alignment(op->bias) < 4)) return CUBLAS_STATUS_INVALID_VALUE;
    memset(&results[0], 0, sizeof results[0]);
    memcpy(results[0].algo.data, pref->align, sizeof pref->align); // what the algorithm may assume
    results[0].algo.data[2] = op->compute;
    results[0].workspaceSize = 0;
    results[0].state = CUBLAS_STATUS_SUCCESS;
    results[0].wavesCount = 1.0f;
    *found = 1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t op, const void *alpha, const void *A,
                              cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc,
                              const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
                              cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace,
                              size_t workspace_bytes, cudaStream_t stream) {
    if (!h || !op || !algo) return CUBLAS_STATUS_INVALID_VALUE;
    lt_shape s;
    if (cublasStatus_t st = shape_of(op, Adesc, Bdesc, Cdesc, Ddesc, &s)) return st;
    if (!known_epilogue(op->epilogue)) return CUBLAS_STATUS_NOT_SUPPORTED;
    uint32_t need[4];
    memcpy(need, algo->data, sizeof need);
    if ((uint32_t)algo->data[2] != (uint32_t)op->compute) {
        warn("cublasLtMatmul: the algorithm was chosen for another compute type");
        return CUBLAS_STATUS_INVALID_VALUE;
    }
    const void *ptr[4] = {A, B, C, D};
    for (int i = 0; i < 4; i++)
        if (alignment(ptr[i]) < need[i]) {
            warn("cublasLtMatmul: operand %c is %u-byte aligned; the algorithm was chosen for %u", "ABCD"[i],
                 alignment(ptr[i]), need[i]);
            return CUBLAS_STATUS_INVALID_VALUE;
        }
    if (workspace_bytes) check_device("cublasLtMatmul: workspace", workspace, workspace_bytes);
    const cuda_host_lt_layout *L[4] = {Adesc, Bdesc, Cdesc, Ddesc};
    for (int i = 0; i < s.batch; i++) {
        char what[64];
        for (int o = 0; o < 4; o++) {
            snprintf(what, sizeof what, "cublasLtMatmul, batch %d: %c", i, "ABCD"[o]);
            check_device(what, (const float *)ptr[o] + i * L[o]->stride, span_bytes((long)L[o]->rows, (long)L[o]->cols, L[o]->ld));
        }
        if (has_bias(op->epilogue)) {
            snprintf(what, sizeof what, "cublasLtMatmul, batch %d: bias", i);
            check_device(what, op->bias + i * op->bias_stride, sizeof(float) * s.m);
        }
    }
    const float al = *(const float *)alpha, be = *(const float *)beta;
    const bool tf32 = op->compute == CUBLAS_COMPUTE_32F_FAST_TF32;
    const uint32_t ep = op->epilogue;
    const float *bias = op->bias; // the descriptor's state at the call, as cuBLASLt reads it
    const int64_t bstride = op->bias_stride;
    const cuda_host_lt_layout a = *Adesc, b = *Bdesc, c = *Cdesc, d = *Ddesc;
    enqueue(stream, [=] {
        for (int i = 0; i < s.batch; i++) {
            const float *Ai = (const float *)A + i * a.stride, *Bi = (const float *)B + i * b.stride;
            const float *Ci = (const float *)C + i * c.stride;
            float *Di = (float *)D + i * d.stride;
            if (Ci != Di && be != 0.0f) // D = ... + beta C: start from C
                for (long j = 0; j < s.n; j++) memcpy(Di + j * d.ld, Ci + j * c.ld, sizeof(float) * s.m);
            gemm(s.ta, s.tb, (int)s.m, (int)s.n, (int)s.k, al, Ai, (int)a.ld, Bi, (int)b.ld, be, Di, (int)d.ld, tf32);
            const float *bi = has_bias(ep) ? bias + i * bstride : nullptr;
            const bool relu = ep == CUBLASLT_EPILOGUE_RELU || ep == CUBLASLT_EPILOGUE_RELU_BIAS;
            for (long j = 0; j < s.n; j++)
                for (long r = 0; r < s.m; r++) {
                    float v = Di[j * d.ld + r];
                    if (bi) v = v + bi[r];      // one fp32 add, as bias_act's
                    if (relu) v = fmaxf(v, 0.0f); // NaN -> 0, as fmaxf
                    Di[j * d.ld + r] = v;
                }
        }
    });
    return CUBLAS_STATUS_SUCCESS;
}
