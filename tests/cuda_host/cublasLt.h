// The CPU execution layer's cuBLASLt (cublaslt.cpp): one fp32 matmul,
// D = epilogue(alpha op(A) op(B) + beta C), column-major, optionally
// strided-batched, with the DEFAULT, RELU, BIAS and RELU_BIAS epilogues,
// on the product of blas.h. Attribute values are checked for their size,
// as cuBLASLt does (a wrong type is CUBLAS_STATUS_INVALID_VALUE). The
// heuristic offers one algorithm, which records the alignments it was
// chosen for; a matmul whose operands are less aligned is refused.
// CUDA_HOST_LT_NO_ALGO=pedantic|all makes the heuristic find nothing for
// CUBLAS_COMPUTE_32F_PEDANTIC (or for every compute type), so that the
// callers' fall-back paths run.
#ifndef CUDA_HOST_CUBLASLT_H
#define CUDA_HOST_CUBLASLT_H
#include "cublas_v2.h"
#include <cstdint>

struct cuda_host_lt;
struct cuda_host_lt_desc;
struct cuda_host_lt_layout;
struct cuda_host_lt_pref;
typedef cuda_host_lt *cublasLtHandle_t;
typedef cuda_host_lt_desc *cublasLtMatmulDesc_t;
typedef cuda_host_lt_layout *cublasLtMatrixLayout_t;
typedef cuda_host_lt_pref *cublasLtMatmulPreference_t;
typedef struct { uint64_t data[8]; } cublasLtMatmulAlgo_t;
typedef struct {
    cublasLtMatmulAlgo_t algo;
    size_t workspaceSize;
    cublasStatus_t state;
    float wavesCount;
    int reserved[4];
} cublasLtMatmulHeuristicResult_t;

typedef enum {
    CUBLASLT_MATMUL_DESC_COMPUTE_TYPE = 0,  // int32_t
    CUBLASLT_MATMUL_DESC_SCALE_TYPE = 1,    // int32_t
    CUBLASLT_MATMUL_DESC_POINTER_MODE = 2,  // int32_t
    CUBLASLT_MATMUL_DESC_TRANSA = 3,        // int32_t
    CUBLASLT_MATMUL_DESC_TRANSB = 4,        // int32_t
    CUBLASLT_MATMUL_DESC_TRANSC = 5,        // int32_t
    CUBLASLT_MATMUL_DESC_EPILOGUE = 7,      // uint32_t
    CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,  // const void *
    CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE = 10, // int64_t
    CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE = 26     // int32_t
} cublasLtMatmulDescAttributes_t;
typedef enum {
    CUBLASLT_MATRIX_LAYOUT_TYPE = 0,                 // uint32_t
    CUBLASLT_MATRIX_LAYOUT_ORDER = 1,                // int32_t
    CUBLASLT_MATRIX_LAYOUT_ROWS = 2,                 // uint64_t
    CUBLASLT_MATRIX_LAYOUT_COLS = 3,                 // uint64_t
    CUBLASLT_MATRIX_LAYOUT_LD = 4,                   // int64_t
    CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5,          // int32_t
    CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6  // int64_t
} cublasLtMatrixLayoutAttribute_t;
typedef enum {
    CUBLASLT_MATMUL_PREF_SEARCH_MODE = 0,          // uint32_t
    CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,  // uint64_t
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5, // uint32_t
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES = 6,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES = 7,
    CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES = 8
} cublasLtMatmulPreferenceAttributes_t;
typedef enum {
    CUBLASLT_EPILOGUE_DEFAULT = 1,
    CUBLASLT_EPILOGUE_RELU = 2,
    CUBLASLT_EPILOGUE_BIAS = 4,
    CUBLASLT_EPILOGUE_RELU_BIAS = 6
} cublasLtEpilogue_t;
typedef enum { CUBLASLT_ORDER_COL = 0, CUBLASLT_ORDER_ROW = 1 } cublasLtOrder_t;

cublasStatus_t cublasLtCreate(cublasLtHandle_t *h);
cublasStatus_t cublasLtDestroy(cublasLtHandle_t h);
cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *d, cublasComputeType_t compute, cudaDataType_t scale);
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t d);
cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a,
                                              const void *v, size_t size);
cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *l, cudaDataType_t type, uint64_t rows,
                                          uint64_t cols, int64_t ld);
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t l);
cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t a,
                                                const void *v, size_t size);
cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *p);
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t p);
cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t p,
                                                    cublasLtMatmulPreferenceAttributes_t a, const void *v,
                                                    size_t size);
cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t h, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t A,
                                              cublasLtMatrixLayout_t B, cublasLtMatrixLayout_t C,
                                              cublasLtMatrixLayout_t D, cublasLtMatmulPreference_t pref,
                                              int requested, cublasLtMatmulHeuristicResult_t *results,
                                              int *found);
cublasStatus_t cublasLtMatmul(cublasLtHandle_t h, cublasLtMatmulDesc_t op, const void *alpha, const void *A,
                              cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc,
                              const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
                              cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace,
                              size_t workspace_bytes, cudaStream_t stream);

#endif
