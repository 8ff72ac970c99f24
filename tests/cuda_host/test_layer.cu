// The CPU execution layer's own test: what it must model (barrier and warp
// collective semantics, launch limits, poisoned memory, streams, graphs,
// the library stand-ins) and the bugs it must catch. A case that must die
// runs in a forked child; the test checks that it failed and that its
// message names the cause.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <string>
#include <vector>
#include <sys/wait.h>
#include <unistd.h>
#include "../../kernels/launch.cuh"

static int failures = 0, passed = 0;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) passed++;                                                                        \
        else {                                                                                     \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
        }                                                                                          \
    } while (0)

// Runs f in a child; true when the child failed and its stderr holds `want`.
template <class F> static bool dies_with(const char *want, F f) {
    int fd[2];
    if (pipe(fd)) abort();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        f();
        fflush(stderr);
        _exit(0);
    }
    close(fd[1]);
    std::string err;
    char buf[4096];
    for (ssize_t n; (n = read(fd[0], buf, sizeof buf)) > 0;) err.append(buf, (size_t)n);
    close(fd[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    const bool failed = !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    if (!failed || err.find(want) == std::string::npos)
        fprintf(stderr, "  child %s; wanted '%s' in its stderr:\n%s", failed ? "failed" : "succeeded", want,
                err.c_str());
    return failed && err.find(want) != std::string::npos;
}

template <class T> static T *dev(size_t n) {
    T *p = nullptr;
    if (cudaMalloc(&p, sizeof(T) * n) != cudaSuccess) abort();
    return p;
}

// ------------------------------------------------------------ kernels
// out[b] = sum of in over the block, by a shared-memory tree; `barrier`
// false drops the barrier between the writes and the tree's reads.
__global__ void block_sum(const float *in, float *out, bool barrier) {
    __shared__ float s[256]; ML_POISON_SHARED(s);
    const int t = threadIdx.x;
    s[t] = in[blockIdx.x * blockDim.x + t];
    if (barrier) __syncthreads();
    for (int w = blockDim.x / 2; w > 0; w >>= 1) {
        if (t < w) s[t] += s[t + w];
        if (barrier) __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = s[0];
}

__global__ void warp_ops(const int *in, int *sum, unsigned *bal, int *idx0, int *up, int *xr) {
    const int l = threadIdx.x;
    int v = in[l];
    for (int w = 16; w > 0; w >>= 1) v += __shfl_down_sync(0xffffffffu, v, w);
    if (l == 0) *sum = v;
    bal[l] = __ballot_sync(0xffffffffu, in[l] % 2);
    idx0[l] = __shfl_sync(0xffffffffu, in[l], 3);
    up[l] = __shfl_up_sync(0xffffffffu, in[l], 1);
    xr[l] = __shfl_xor_sync(0xffffffffu, in[l], 1, 8);
}

__global__ void divergent_barrier() {
    if (threadIdx.x < 16) __syncthreads();
    else __syncthreads();
}
__global__ void barrier_after_exit() {
    if (threadIdx.x == 5) return;
    __syncthreads();
}
__global__ void shfl_after_exit(int *o) {
    if (threadIdx.x >= 16) return;
    o[threadIdx.x] = __shfl_down_sync(0xffffffffu, (int)threadIdx.x, 1);
}
__global__ void shfl_divergent(int *o) { // half the warp at one call, half at another
    int v = threadIdx.x;
    if (threadIdx.x & 1) v = __shfl_down_sync(0xffffffffu, v, 1);
    else v = __shfl_down_sync(0xffffffffu, v, 2);
    o[threadIdx.x] = v;
}
__global__ void shfl_outside_mask(int *o) {
    if (threadIdx.x < 8) o[threadIdx.x] = __shfl_sync(0xffu, (int)threadIdx.x, 9);
}
__global__ void shfl_excludes_self(int *o) { o[threadIdx.x] = __shfl_sync(0xfffffffeu, 1, 0); }
__global__ void read_shared_unwritten(unsigned *o) {
    __shared__ unsigned s; ML_POISON_SHARED(s);
    if (threadIdx.x == 0) *o = s;
}
__global__ void write_shared(unsigned v) {
    __shared__ unsigned s; ML_POISON_SHARED(s);
    s = v;
}
__global__ void dyn_read(const float *in, float *o, int n) {
    ML_DYN_SHARED(float, buf);
    for (int i = threadIdx.x; i < n; i += blockDim.x) buf[i] = in[i];
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0;
        for (int i = 0; i < n; i++) s += buf[i];
        *o = s;
    }
}
__global__ void write_at(float *x, int i) { x[i] = 1.0f; }
__global__ void dyn_write_at(int i) {
    ML_DYN_SHARED(float, buf);
    buf[i] = 1.0f;
}
__global__ void add_one(float *x, int n) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) x[i] += 1.0f;
}

// ------------------------------------------------------------ cases
static void test_barriers_and_order() {
    const int B = 4, T = 256;
    float h[B * T], *in = dev<float>(B * T), *out = dev<float>(B), r[B];
    for (int i = 0; i < B * T; i++) h[i] = (float)(i % 7);
    cudaMemcpy(in, h, sizeof h, cudaMemcpyHostToDevice);
    float want[B] = {0, 0, 0, 0};
    for (int i = 0; i < B * T; i++) want[i / T] += h[i];
    const char *orders[] = {"natural", "reverse", "random"};
    int wrong_without = 0;
    for (const char *o : orders) {
        setenv("CUDA_HOST_ORDER", o, 1);
        ML_LAUNCH(block_sum, B, T, 0, 0)(in, out, true);
        cudaMemcpy(r, out, sizeof r, cudaMemcpyDeviceToHost);
        for (int b = 0; b < B; b++) CHECK(r[b] == want[b], "order %s block %d: %g != %g", o, b, r[b], want[b]);
        ML_LAUNCH(block_sum, B, T, 0, 0)(in, out, false);
        cudaMemcpy(r, out, sizeof r, cudaMemcpyDeviceToHost);
        for (int b = 0; b < B; b++) wrong_without += r[b] != want[b];
    }
    unsetenv("CUDA_HOST_ORDER");
    // without the barriers some order must read a partner's slot before it was written
    CHECK(wrong_without > 0, "a missing __syncthreads changed no result in any order");
    cudaFree(in);
    cudaFree(out);
}

static void test_warp_semantics() {
    int h[32], *in = dev<int>(32), *sum = dev<int>(1), *idx0 = dev<int>(32), *up = dev<int>(32), *xr = dev<int>(32);
    unsigned *bal = dev<unsigned>(32);
    for (int i = 0; i < 32; i++) h[i] = i * 3 + 1;
    cudaMemcpy(in, h, sizeof h, cudaMemcpyHostToDevice);
    ML_LAUNCH(warp_ops, 1, 32, 0, 0)(in, sum, bal, idx0, up, xr);
    int s, i0[32], u[32], x[32];
    unsigned b[32];
    cudaMemcpy(&s, sum, sizeof s, cudaMemcpyDeviceToHost);
    cudaMemcpy(b, bal, sizeof b, cudaMemcpyDeviceToHost);
    cudaMemcpy(i0, idx0, sizeof i0, cudaMemcpyDeviceToHost);
    cudaMemcpy(u, up, sizeof u, cudaMemcpyDeviceToHost);
    cudaMemcpy(x, xr, sizeof x, cudaMemcpyDeviceToHost);
    int want = 0;
    unsigned wb = 0;
    for (int i = 0; i < 32; i++) want += h[i], wb |= (unsigned)(h[i] % 2) << i;
    CHECK(s == want, "shfl_down sum %d != %d", s, want);
    for (int l = 0; l < 32; l++) {
        CHECK(b[l] == wb, "ballot lane %d", l);
        CHECK(i0[l] == h[3], "shfl lane %d", l);
        CHECK(u[l] == (l ? h[l - 1] : h[0]), "shfl_up lane %d", l);
        CHECK(x[l] == h[(l & ~7) + ((l & 7) ^ 1)], "shfl_xor width 8 lane %d", l);
    }
}

static void test_bugs_caught() {
    int *o = dev<int>(32);
    CHECK(dies_with("divergent __syncthreads()", [] { ML_LAUNCH(divergent_barrier, 1, 32, 0, 0)(); }), "divergent");
    CHECK(dies_with("a barrier must be reached by every thread", [] { ML_LAUNCH(barrier_after_exit, 1, 32, 0, 0)(); }),
          "barrier after exit");
    setenv("CUDA_HOST_ORDER", "reverse", 1); // the exit comes before the barrier in this order
    CHECK(dies_with("a barrier must be reached by every thread", [] { ML_LAUNCH(barrier_after_exit, 1, 32, 0, 0)(); }),
          "barrier after exit, reverse");
    unsetenv("CUDA_HOST_ORDER");
    CHECK(dies_with("reached by only part of its mask", [o] { ML_LAUNCH(shfl_after_exit, 1, 32, 0, 0)(o); }),
          "shuffle after exit");
    CHECK(dies_with("wait at", [o] { ML_LAUNCH(shfl_divergent, 1, 32, 0, 0)(o); }), "divergent shuffle");
    CHECK(dies_with("not in the mask", [o] { ML_LAUNCH(shfl_outside_mask, 1, 32, 0, 0)(o); }), "outside the mask");
    CHECK(dies_with("excludes its own lane", [o] { ML_LAUNCH(shfl_excludes_self, 1, 32, 0, 0)(o); }), "self");
    CHECK(dies_with("run 4 bytes past the end", [] {
              float *a = dev<float>(4), h[5] = {0};
              cudaMemcpy(a, h, sizeof h, cudaMemcpyHostToDevice);
          }),
          "copy past an allocation");
    CHECK(dies_with("is not device memory", [] {
              cublasHandle_t hb;
              cublasCreate(&hb);
              float host[4] = {0}, one = 1, zero = 0, *d = dev<float>(4);
              cublasSgemm(hb, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, host, 2, d, 2, &zero, d, 2);
          }),
          "GEMM on host memory");
#if defined(__SANITIZE_ADDRESS__)
    // out-of-bounds accesses in kernels: device memory and dynamic shared
    // memory are exactly-sized host allocations, so AddressSanitizer sees them
    CHECK(dies_with("heap-buffer-overflow", [] { ML_LAUNCH(write_at, 1, 1, 0, 0)(dev<float>(10), 10); }),
          "a write one past a cudaMalloc allocation");
    CHECK(dies_with("heap-buffer-overflow", [] { ML_LAUNCH(dyn_write_at, 1, 1, 64, 0)(16); }),
          "a write one past the dynamic shared memory");
#endif
    cudaFree(o);
}

static void test_launch_limits_and_poison() {
    float *x = dev<float>(1 << 14), *o = dev<float>(1);
    unsigned *u = dev<unsigned>(1), hu = 0;
    cudaGetLastError();
    ML_LAUNCH(add_one, 1, 1025, 0, 0)(x, 1);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "1025 threads per block");
    CHECK(cudaGetLastError() == cudaSuccess, "cudaGetLastError clears the error");
    ML_LAUNCH(add_one, dim3(1, 70000), 32, 0, 0)(x, 1);
    CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration, "grid.y 70000");
    ML_LAUNCH(dyn_read, 1, 128, 49152 + 4, 0)(x, o, 1);
    CHECK(cudaGetLastError() == cudaErrorInvalidValue, "dynamic shared memory above 48 KiB without the opt-in");
    CHECK(cudaFuncSetAttribute(dyn_read, cudaFuncAttributeMaxDynamicSharedMemorySize, 227 * 1024 + 4) ==
              cudaErrorInvalidValue,
          "opt-in above the device's 227 KiB");
    CHECK(cudaFuncSetAttribute(dyn_read, cudaFuncAttributeMaxDynamicSharedMemorySize, 65536) == cudaSuccess, "opt-in");
    std::vector<float> h(16384, 0.5f);
    cudaMemcpy(x, h.data(), sizeof(float) * 16384, cudaMemcpyHostToDevice);
    ML_LAUNCH(dyn_read, 1, 128, 65536, 0)(x, o, 16384);
    CHECK(cudaGetLastError() == cudaSuccess, "64 KiB after the opt-in");
    float r = 0;
    cudaMemcpy(&r, o, 4, cudaMemcpyDeviceToHost);
    CHECK(r == 8192.0f, "sum through 64 KiB of dynamic shared memory: %g", r);
    // a block's __shared__ holds garbage, not what the previous block (or launch) left there
    ML_LAUNCH(write_shared, 1, 1, 0, 0)(1234u);
    ML_LAUNCH(read_shared_unwritten, 1, 1, 0, 0)(u);
    cudaMemcpy(&hu, u, 4, cudaMemcpyDeviceToHost);
    CHECK(hu == 0xffffffffu, "unwritten __shared__ reads the poison, got 0x%08x", hu);
    float *fresh = dev<float>(1), f = 0;
    cudaMemcpy(&f, fresh, 4, cudaMemcpyDeviceToHost);
    CHECK(std::isnan(f), "fresh device memory reads NaN");
    int host_int = 0;
    CHECK(cudaMemcpy(&host_int, &f, 4, cudaMemcpyDeviceToHost) == cudaErrorInvalidMemcpyDirection,
          "a host source in a device-to-host copy");
    cudaFree(x);
    cudaFree(o);
    cudaFree(u);
    cudaFree(fresh);
}

static void test_streams_graphs() {
    cudaStream_t s;
    cudaStreamCreate(&s);
    float *x = dev<float>(1000), h[1000];
    cudaMemsetAsync(x, 0, sizeof(float) * 1000, s);
    cudaGraph_t g;
    cudaGraphExec_t e;
    CHECK(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal) == cudaSuccess, "capture");
    ML_LAUNCH(add_one, 2, 64, 0, s)(x, 1000);
    CHECK(cudaMemcpy(h, x, 4, cudaMemcpyDeviceToHost) == cudaErrorStreamCaptureUnsupported,
          "a synchronous copy during a capture");
    CHECK(cudaStreamEndCapture(s, &g) == cudaSuccess, "end capture");
    cudaMemcpy(h, x, sizeof h, cudaMemcpyDeviceToHost);
    CHECK(h[999] == 0.0f, "a captured launch does not run at capture");
    cudaGraphInstantiate(&e, g, 0);
    for (int i = 0; i < 3; i++) cudaGraphLaunch(e, s);
    cudaStreamSynchronize(s);
    cudaMemcpy(h, x, sizeof h, cudaMemcpyDeviceToHost);
    CHECK(h[0] == 3.0f && h[999] == 3.0f, "three replays: %g %g", h[0], h[999]);
    cudaGraphExecDestroy(e);
    cudaGraphDestroy(g);
    cudaStreamDestroy(s);
    cudaFree(x);
}

static void test_blas() {
    cublasHandle_t hb;
    cublasCreate(&hb);
    // 1 + 2^-12 is not a TF32 number: it rounds to 1 in TF32 math mode only
    const float a_h[4] = {1.0f + 1.0f / 4096, 0, 0, 1}, b_h[4] = {1, 0, 0, 1};
    float *A = dev<float>(4), *B = dev<float>(4), *C = dev<float>(4), c[4], one = 1, zero = 0;
    cudaMemcpy(A, a_h, sizeof a_h, cudaMemcpyHostToDevice);
    cudaMemcpy(B, b_h, sizeof b_h, cudaMemcpyHostToDevice);
    cublasSetMathMode(hb, CUBLAS_PEDANTIC_MATH);
    cublasSgemm(hb, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, A, 2, B, 2, &zero, C, 2); // C poisoned: beta 0 ignores it
    cudaMemcpy(c, C, sizeof c, cudaMemcpyDeviceToHost);
    CHECK(c[0] == a_h[0] && c[3] == 1.0f && c[1] == 0.0f, "fp32 GEMM: %g %g %g", c[0], c[1], c[3]);
    cublasSetMathMode(hb, CUBLAS_TF32_TENSOR_OP_MATH);
    cublasSgemm(hb, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, A, 2, B, 2, &zero, C, 2);
    cudaMemcpy(c, C, sizeof c, cudaMemcpyDeviceToHost);
    CHECK(c[0] == 1.0f, "TF32 GEMM rounds its inputs: %.9g", c[0]);
    CHECK(cublasSgemm(hb, CUBLAS_OP_N, CUBLAS_OP_N, 2, 2, 2, &one, A, 1, B, 2, &zero, C, 2) ==
              CUBLAS_STATUS_INVALID_VALUE,
          "lda < m");
    // cuBLASLt: D = relu(A^T B + bias), bias per row of D
    cublasLtHandle_t lt;
    cublasLtCreate(&lt);
    cublasLtMatmulDesc_t op;
    cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F_PEDANTIC, CUDA_R_32F);
    int32_t t = CUBLAS_OP_T;
    uint32_t ep = CUBLASLT_EPILOGUE_RELU_BIAS;
    const float bias_h[2] = {-5.0f, 0.5f};
    float *bias = dev<float>(2);
    cudaMemcpy(bias, bias_h, sizeof bias_h, cudaMemcpyHostToDevice);
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof t);
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &ep, sizeof ep);
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
    int32_t stride32 = 2;
    CHECK(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &stride32, sizeof stride32) ==
              CUBLAS_STATUS_INVALID_VALUE,
          "an int32 where cuBLASLt documents int64");
    cublasLtMatrixLayout_t la, lb, ld;
    cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, 2, 2, 2);
    cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, 2, 2, 2);
    cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, 2, 2, 2);
    cublasLtMatmulPreference_t pref;
    cublasLtMatmulPreferenceCreate(&pref);
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, ld, ld, pref, 1, &res, &found);
    CHECK(found == 1, "heuristic");
    CHECK(cublasLtMatmul(lt, op, &one, A, la, B, lb, &zero, C, ld, C, ld, &res.algo, nullptr, 0, nullptr) ==
              CUBLAS_STATUS_SUCCESS,
          "matmul");
    cudaMemcpy(c, C, sizeof c, cudaMemcpyDeviceToHost);
    CHECK(c[0] == 0.0f && c[1] == 0.5f && c[2] == 0.0f && c[3] == 1.5f, "relu_bias: %g %g %g %g", c[0], c[1], c[2],
          c[3]);
    setenv("CUDA_HOST_LT_NO_ALGO", "pedantic", 1);
    cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, ld, ld, pref, 1, &res, &found);
    CHECK(found == 0, "CUDA_HOST_LT_NO_ALGO=pedantic");
    unsetenv("CUDA_HOST_LT_NO_ALGO");
}

int main() {
    test_barriers_and_order();
    test_warp_semantics();
    test_bugs_caught();
    test_launch_limits_and_poison();
    test_streams_graphs();
    test_blas();
    printf("cuda_host layer: %d checks passed, %d failed\n", passed, failures);
    return failures != 0;
}
