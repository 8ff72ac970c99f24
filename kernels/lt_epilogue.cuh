// The `lt` kernel variant (MONOLAB_KERNELS, see backend_cuda.cu): the first
// layer's matrix product, bias and activation as ONE cuBLASLt matmul with a
// bias + activation epilogue, H = relu(W1 x + b1), per model or
// strided-batched over the group. NOT YET RUN ON A GPU: it compiles, and
// tests/gpu/test_backend_ops.c and bench/bench_gpu.cu cover it.
//
// Which activations: only ReLU. cuBLASLt's GELU epilogue is the tanh
// approximation, while the models train with the exact erf form
// (elementwise.h: ml_act_fwd), a different function, not a rounding
// difference; SoLU has no epilogue. Those keep the plain GEMM + bias_act
// path, as does any shape for which cuBLASLt's heuristic offers no
// algorithm (one line on stderr, once per process).
//
// What backward needs: with the epilogue, PRE = W1 x + b1 is never written
// (RELU_BIAS, no auxiliary output; the RELU_AUX forms write a bit-mask, not
// PRE). ReLU's derivative needs only its sign: relu'(pre) = [pre > 0] =
// [h > 0] exactly (pre > 0 gives h = pre > 0; pre <= 0 or NaN gives h = 0
// or NaN, neither > 0), and ml_act_grad(ACT_RELU, .) tests exactly "> 0",
// as does the l1 term's sign(h). So backward passes H where it passed PRE,
// with the CPU's convention at pre == 0 (derivative 0) kept by
// construction. peek("PRE") then returns whatever PRE held before (the
// tests' NaN poison): the op test uses that to know the epilogue ran.
//
// Why backward is not fused into cuBLASLt too (DRELU / DRELU_BGRAD on the
// dH product): (1) the l1 penalty adds l1/B sign(h) to dH before the ReLU
// derivative, per model, which no epilogue can add; (2) the derivative would
// come from the forward pass's RELU_AUX bit-mask, whose value at pre == 0
// is not documented (the CPU's is 0; a row with no active feature has
// x = 0 and pre = b1 exactly, so exact values do occur) and could not be
// checked without a GPU; (3) BGRAD sums db1 in an unspecified order, while the CPU twin
// sums it in fixed slabs (elementwise.h, ML_DB1_SLAB), which the GPU's
// bias-gradient kernel reproduces. The activation backward stays the
// existing kernel (fused with the bias gradient under `fused`).
#ifndef MONOLAB_LT_EPILOGUE_CUH
#define MONOLAB_LT_EPILOGUE_CUH
#include <cstddef>
#include <cuda_runtime.h>

// What the fused product needs to know of a group.
struct ml_lt_shape {
    int G, m, k, B, act;
    size_t ld_param, off_W1, off_b1; // model gi's parameters at params + gi * ld_param
    bool batched; // one strided-batched matmul for the group, else one per model
    bool tf32;    // CUBLAS_COMPUTE_32F_FAST_TF32, else CUBLAS_COMPUTE_32F_PEDANTIC (CUBLAS_COMPUTE_32F if it has no algorithm)
};

struct ml_lt; // a group's cuBLASLt handle, descriptors, chosen algorithm, aligned weights

// Whether cuBLASLt has an epilogue computing exactly this activation.
bool ml_lt_has_epilogue(int act);

// Descriptors, layouts and preference built once, the algorithm chosen
// once by cublasLtMatmulAlgoGetHeuristic with a workspace limit equal to
// the workspace every call passes, and one trial matmul (X and H: the
// group's device buffers, H is overwritten). NULL when the epilogue does
// not apply: the activation has none (silently, documented above), or no
// algorithm was found or the trial failed (one line on stderr, once per
// process). Allocates only here, never during a step, so that a step can
// be captured as a CUDA Graph. *total grows by the bytes allocated.
ml_lt *ml_lt_create(const ml_lt_shape &sh, const float *X, float *H, void *workspace, size_t workspace_bytes,
                    cudaStream_t s, size_t *total);

// H[g] (B x k, row-major) = relu(X[g] W1[g]^T + b1[g]) for every model g,
// from params [G][ld_param]. Stream-ordered, no allocation, no sync.
void ml_lt_forward(ml_lt *lt, const float *params, const float *X, float *H, cudaStream_t s);

void ml_lt_destroy(ml_lt *lt);

#endif
