// The CPU execution layer for the CUDA sources (docs/architecture.md "The
// CUDA source on the CPU"). Test-only: g++ compiles kernels/*.cu and
// tests/gpu/*.cu as C++ with this folder first on the include path, so
// this header stands in for the CUDA runtime's, and the kernels run on the
// CPU. Nothing here is ever linked into build/monolab.
//
// What it models (an H100's limits, sm_90):
// - a launch runs every block of the grid; a block's threads are fibers
//   (Boost.Context) on one OS thread, switched only at __syncthreads and at
//   the warp collectives, so every interleaving the scheduler picks is one
//   a GPU could produce; CUDA_HOST_ORDER=natural|reverse|random (seed
//   CUDA_HOST_SEED) picks which thread runs next between two barriers, and
//   the order of the blocks, so that a missing barrier changes the result;
// - launch configurations, dynamic shared memory limits (48 KiB, or up to
//   the opt-in through cudaFuncSetAttribute), __shared__ memory fresh and
//   poisoned for every block, device memory poisoned when allocated;
// - collectives with their mask semantics: a lane outside the mask, a lane
//   that exited, lanes of one warp at different collectives, or threads of
//   a block at different __syncthreads are errors that name the kernel,
//   block, thread and source line;
// - streams run their work in order at the call (there is no concurrency
//   to model on one host thread), capture records it for a CUDA Graph.
#ifndef CUDA_HOST_CUDA_RUNTIME_H
#define CUDA_HOST_CUDA_RUNTIME_H
#define ML_CUDA_HOST 1
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

// ------------------------------------------------------------ qualifiers
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __restrict__ __restrict
#define __constant__
// A block's threads share one OS thread, so a thread_local is one copy per
// running block: exactly __shared__'s scope. ML_POISON_SHARED (below)
// refreshes it when a new block starts.
#define __shared__ static thread_local

// ------------------------------------------------------------ vector types
struct uint3 { unsigned x, y, z; };
struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};
struct uint2 { unsigned x, y; };
struct uint4 { unsigned x, y, z, w; };
struct int2 { int x, y; };
struct int4 { int x, y, z, w; };
struct float2 { float x, y; };
struct float4 { float x, y, z, w; };
struct double2 { double x, y; };
struct double4 { double x, y, z, w; };
static inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }
static inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }
static inline int2 make_int2(int x, int y) { return int2{x, y}; }
static inline int4 make_int4(int x, int y, int z, int w) { return int4{x, y, z, w}; }
static inline float2 make_float2(float x, float y) { return float2{x, y}; }
static inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
static inline double2 make_double2(double x, double y) { return double2{x, y}; }
static inline double4 make_double4(double x, double y, double z, double w) { return double4{x, y, z, w}; }

// ------------------------------------------------------------ runtime types
enum cudaError {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInvalidDevicePointer = 17,
    cudaErrorInvalidMemcpyDirection = 21,
    cudaErrorNoDevice = 100,
    cudaErrorInvalidDevice = 101,
    cudaErrorInvalidResourceHandle = 400,
    cudaErrorNotReady = 600,
    cudaErrorIllegalAddress = 700,
    cudaErrorLaunchFailure = 719,
    cudaErrorStreamCaptureUnsupported = 900,
    cudaErrorStreamCaptureInvalidated = 901,
    cudaErrorStreamCaptureWrongThread = 908,
};
typedef enum cudaError cudaError_t;
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4
};
enum cudaStreamCaptureMode {
    cudaStreamCaptureModeGlobal = 0,
    cudaStreamCaptureModeThreadLocal = 1,
    cudaStreamCaptureModeRelaxed = 2
};
enum cudaDeviceAttr {
    cudaDevAttrMaxThreadsPerBlock = 1,
    cudaDevAttrMaxSharedMemoryPerBlock = 8,
    cudaDevAttrWarpSize = 10,
    cudaDevAttrMultiProcessorCount = 16,
    cudaDevAttrComputeCapabilityMajor = 75,
    cudaDevAttrComputeCapabilityMinor = 76,
    cudaDevAttrMaxSharedMemoryPerBlockOptin = 97
};
enum cudaFuncAttribute {
    cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
    cudaFuncAttributePreferredSharedMemoryCarveout = 9
};
typedef enum cudaDataType_t { CUDA_R_32F = 0, CUDA_R_64F = 1, CUDA_R_16F = 2, CUDA_R_16BF = 14 } cudaDataType;
typedef enum libraryPropertyType_t { MAJOR_VERSION, MINOR_VERSION, PATCH_LEVEL } libraryPropertyType;
struct cudaUUID_t { char bytes[16]; };
struct cudaDeviceProp {
    char name[256];
    cudaUUID_t uuid;
    size_t totalGlobalMem, sharedMemPerBlock, sharedMemPerBlockOptin;
    int major, minor, multiProcessorCount, maxThreadsPerBlock, warpSize, maxThreadsPerMultiProcessor;
    int maxThreadsDim[3], maxGridSize[3];
};
struct cuda_host_stream;
struct cuda_host_event;
struct cuda_host_graph;
typedef cuda_host_stream *cudaStream_t;
typedef cuda_host_event *cudaEvent_t;
typedef cuda_host_graph *cudaGraph_t;
typedef cuda_host_graph *cudaGraphExec_t;

// ------------------------------------------------------------ the execution model
namespace cuda_host {

// What a kernel body sees of its thread and block (the builtins below).
struct thread_view { uint3 idx; };
struct block_view { uint3 idx; dim3 dim, grid; };
inline thread_local thread_view *cur_thread = nullptr;
inline thread_local block_view *cur_block = nullptr;

[[noreturn]] void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// Barriers and warp collectives (sched.cpp). `site` is "file:line".
void syncthreads(const char *site);
void syncwarp(unsigned mask, const char *site);
uint64_t shuffle(unsigned mask, uint64_t bits, int src_rule, int arg, int width, const char *site);
unsigned ballot(unsigned mask, int pred, const char *site);
enum { SHFL_IDX, SHFL_DOWN, SHFL_UP, SHFL_XOR };
void poison_shared(void *p, size_t bytes);
void *dynamic_shared(size_t align);

template <class T> inline T shfl(unsigned mask, T v, int rule, int arg, int width, const char *site) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "a shuffle moves at most 8 bytes");
    uint64_t bits = 0;
    memcpy(&bits, &v, sizeof(T));
    bits = shuffle(mask, bits, rule, arg, width, site);
    T r;
    memcpy(&r, &bits, sizeof(T));
    return r;
}

// One launch: checked, then run (or recorded, during a capture) on its stream.
struct launch_config {
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    const void *fn;
    const char *name, *site;
};
void launch(const launch_config &c, std::function<void()> body);

template <class... P> struct launcher {
    void (*k)(P...);
    launch_config c;
    // The arguments are converted to the kernel's parameter types and copied
    // now, as a launch does; every thread then calls the kernel with them.
    template <class... A> void operator()(A &&...a) const {
        static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
        auto args = std::make_shared<const std::tuple<std::decay_t<P>...>>(std::forward<A>(a)...);
        void (*kk)(P...) = k;
        launch(c, [kk, args] { std::apply(kk, *args); });
    }
};
template <class... P>
launcher<P...> make_launcher(void (*k)(P...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
                             const char *name, const char *site) {
    return launcher<P...>{k, launch_config{grid, block, smem, stream, (const void *)k, name, site}};
}

// Device memory (runtime.cpp): fatal unless [p, p + bytes) lies in one live
// cudaMalloc allocation; the library stand-ins check their operands with it.
void check_device(const char *what, const void *p, size_t bytes);
// Work on a stream: run now, or recorded while the stream captures.
void enqueue(cudaStream_t s, std::function<void()> op);
void set_error(cudaError_t e);
} // namespace cuda_host

// ------------------------------------------------------------ the source forms of kernels/launch.cuh
#define CUDA_HOST_STR2(x) #x
#define CUDA_HOST_STR(x) CUDA_HOST_STR2(x)
#define CUDA_HOST_SITE __FILE__ ":" CUDA_HOST_STR(__LINE__)
#define ML_LAUNCH(k, grid, block, smem, stream) \
    ::cuda_host::make_launcher(k, grid, block, smem, stream, #k, CUDA_HOST_SITE)
#define ML_DYN_SHARED(type, name) type *const name = (type *)::cuda_host::dynamic_shared(alignof(type))
#define ML_POISON_SHARED(name) ::cuda_host::poison_shared((void *)&(name), sizeof(name))

// ------------------------------------------------------------ builtins
#define threadIdx (::cuda_host::cur_thread->idx)
#define blockIdx (::cuda_host::cur_block->idx)
#define blockDim (::cuda_host::cur_block->dim)
#define gridDim (::cuda_host::cur_block->grid)
static constexpr int warpSize = 32;
static inline unsigned cuda_host_full_mask(unsigned m = 0xffffffffu) { return m; }
static inline int cuda_host_width(int w = 32) { return w; }
#define __syncthreads() ::cuda_host::syncthreads(CUDA_HOST_SITE)
#define __syncwarp(...) ::cuda_host::syncwarp(::cuda_host_full_mask(__VA_ARGS__), CUDA_HOST_SITE)
#define __shfl_sync(mask, v, lane, ...) \
    ::cuda_host::shfl(mask, v, ::cuda_host::SHFL_IDX, lane, ::cuda_host_width(__VA_ARGS__), CUDA_HOST_SITE)
#define __shfl_down_sync(mask, v, d, ...) \
    ::cuda_host::shfl(mask, v, ::cuda_host::SHFL_DOWN, d, ::cuda_host_width(__VA_ARGS__), CUDA_HOST_SITE)
#define __shfl_up_sync(mask, v, d, ...) \
    ::cuda_host::shfl(mask, v, ::cuda_host::SHFL_UP, d, ::cuda_host_width(__VA_ARGS__), CUDA_HOST_SITE)
#define __shfl_xor_sync(mask, v, x, ...) \
    ::cuda_host::shfl(mask, v, ::cuda_host::SHFL_XOR, x, ::cuda_host_width(__VA_ARGS__), CUDA_HOST_SITE)
#define __ballot_sync(mask, pred) ::cuda_host::ballot(mask, (pred) ? 1 : 0, CUDA_HOST_SITE)
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
static inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
// CUDA's device min and max overloads, for the unqualified calls in kernels.
template <class A, class B> static inline std::common_type_t<A, B> min(A a, B b) { return b < a ? b : a; }
template <class A, class B> static inline std::common_type_t<A, B> max(A a, B b) { return a < b ? b : a; }
#define __NV_SILENCE_DEPRECATION_BEGIN
#define __NV_SILENCE_DEPRECATION_END

// ------------------------------------------------------------ runtime API (runtime.cpp)
const char *cudaGetErrorString(cudaError_t e);
const char *cudaGetErrorName(cudaError_t e);
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
cudaError_t cudaGetDeviceCount(int *n);
cudaError_t cudaGetDevice(int *d);
cudaError_t cudaSetDevice(int d);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev);
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int dev);
cudaError_t cudaDriverGetVersion(int *v);
cudaError_t cudaRuntimeGetVersion(int *v);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaDeviceReset();
cudaError_t cuda_host_func_set_attribute(const void *f, cudaFuncAttribute a, int v);
template <class F> static inline cudaError_t cudaFuncSetAttribute(F *f, cudaFuncAttribute a, int v) {
    return cuda_host_func_set_attribute((const void *)f, a, v);
}
cudaError_t cuda_host_malloc(void **p, size_t n);
template <class T> static inline cudaError_t cudaMalloc(T **p, size_t n) { return cuda_host_malloc((void **)p, n); }
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind k);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind k, cudaStream_t s = nullptr);
cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                         cudaMemcpyKind k);
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind k, cudaStream_t s = nullptr);
cudaError_t cudaMemset(void *p, int v, size_t n);
cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s = nullptr);
cudaError_t cudaStreamCreate(cudaStream_t *s);
cudaError_t cudaStreamDestroy(cudaStream_t s);
cudaError_t cudaStreamSynchronize(cudaStream_t s);
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s);
cudaError_t cudaGraphDestroy(cudaGraph_t g);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e);
cudaError_t cudaEventCreate(cudaEvent_t *e);
cudaError_t cudaEventDestroy(cudaEvent_t e);
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s = nullptr);
cudaError_t cudaEventSynchronize(cudaEvent_t e);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b);

#endif
