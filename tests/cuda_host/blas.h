// The one product both library stand-ins (cublas.cpp, cublaslt.cpp) run:
// column-major C = alpha op(A) op(B) + beta C on OpenBLAS.
#ifndef CUDA_HOST_BLAS_H
#define CUDA_HOST_BLAS_H
#include <cstddef>

namespace cuda_host {
// Bytes a column-major operand of `rows` x `cols` with leading dimension
// ld spans (what must lie inside its device allocation).
size_t span_bytes(long rows, long cols, long ld);
// beta == 0: C is written, never read (cuBLAS documents that C need not be
// valid then, so a NaN-poisoned C must not leak into the result). tf32:
// A and B are rounded to TF32 (10 mantissa bits, to nearest, ties away
// from zero, as cvt.rna.tf32.f32) before the product, which accumulates
// in fp32.
void gemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *A, int lda, const float *B, int ldb,
          float beta, float *C, int ldc, bool tf32);
float round_tf32(float x);
} // namespace cuda_host
#endif
