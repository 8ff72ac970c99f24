// The CPU execution layer's runtime API: device memory, copies, streams,
// capture and graphs, events, launches, errors and the device model.
//
// Device memory is host memory from posix_memalign (256-byte aligned, as
// cudaMalloc), so AddressSanitizer guards it, filled with 0xff bytes
// (CUDA_HOST_FILL, -1 for none) so that a float read before any write is
// NaN. Every allocation is registered: copies, memsets and the library
// stand-ins refuse a range that is not inside one live allocation, or a
// direction that does not match where the pointers point.
#include "cuda_runtime.h"
#include "cuda_host.h"
#include <cstdarg>
#include <ctime>
#include <map>
#include <mutex>
#include <vector>

struct cuda_host_stream {
    bool capturing = false, invalidated = false;
    cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
    std::vector<std::function<void()>> ops;
};
struct cuda_host_event { long ns = 0; bool recorded = false; };
struct cuda_host_graph { std::vector<std::function<void()>> ops; };

namespace cuda_host {

long now_ns() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static struct stats_at_exit {
    ~stats_at_exit() {
        if (env_long("CUDA_HOST_STATS", 0))
            fprintf(stderr, "cuda_host: %ld launches, %ld threads, %ld fiber switches, %.2f s in kernels, %.2f s in "
                            "cuBLAS/cuBLASLt\n",
                    g_stats.launches.load(), g_stats.threads.load(), g_stats.switches.load(), g_stats.kernel_ns * 1e-9,
                    g_stats.blas_ns * 1e-9);
    }
} g_stats_at_exit;

static std::mutex g_mu;
static std::map<uintptr_t, size_t> g_allocs;          // base -> bytes
static std::map<const void *, int> g_max_dyn_smem;    // cudaFuncAttributeMaxDynamicSharedMemorySize
static thread_local cudaError_t t_last_error = cudaSuccess;
static cuda_host_stream g_legacy_stream;              // the null stream
static thread_local int t_captures = 0;               // global or thread-local captures begun on this thread
static std::atomic<int> g_global_captures{0};

void set_error(cudaError_t e) { t_last_error = e; }

// The allocation that holds address p, if any.
static bool find_alloc(const void *p, uintptr_t *base, size_t *size) {
    std::lock_guard<std::mutex> lk(g_mu);
    uintptr_t a = (uintptr_t)p;
    auto it = g_allocs.upper_bound(a);
    if (it == g_allocs.begin()) return false;
    --it;
    if (a >= it->first + (it->second ? it->second : 1)) return false;
    *base = it->first;
    *size = it->second;
    return true;
}

void check_device(const char *what, const void *p, size_t bytes) {
    if (!bytes) return;
    uintptr_t base;
    size_t size;
    if (!find_alloc(p, &base, &size))
        fatal("%s: %p is not device memory (no live cudaMalloc allocation holds it)", what, p);
    if ((uintptr_t)p + bytes > base + size)
        fatal("%s: %zu bytes from %p run %zu bytes past the end of their allocation (%zu bytes at %p)", what, bytes, p,
              (size_t)((uintptr_t)p + bytes - base - size), size, (void *)base);
}

static cuda_host_stream *stream_of(cudaStream_t s) { return s ? s : &g_legacy_stream; }

void enqueue(cudaStream_t s, std::function<void()> op) {
    cuda_host_stream *st = stream_of(s);
    if (st->capturing) st->ops.push_back(std::move(op));
    else op();
}

// A call that a capture in progress forbids (it would synchronise or
// allocate): CUDA returns an error and invalidates the capture.
static cudaError_t capture_forbids(const char *call) {
    if (t_captures > 0 || g_global_captures > 0) {
        warn("%s during a stream capture: cudaErrorStreamCaptureUnsupported", call);
        return cudaErrorStreamCaptureUnsupported;
    }
    return cudaSuccess;
}

static int max_dyn_smem(const void *f) {
    std::lock_guard<std::mutex> lk(g_mu);
    auto it = g_max_dyn_smem.find(f);
    return it == g_max_dyn_smem.end() ? (int)SMEM_DEFAULT : it->second;
}

// The checks a device makes when a kernel is launched; a bad launch sets
// the last error (cudaGetLastError) and runs nothing.
void launch(const launch_config &c, std::function<void()> body) {
    const dim3 g = c.grid, b = c.block;
    const long threads = (long)b.x * b.y * b.z;
    if (!g.x || !g.y || !g.z || !b.x || !b.y || !b.z || threads > MAX_THREADS || b.x > 1024 || b.y > 1024 ||
        b.z > 64 || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535) {
        warn("launch of %s at %s: invalid configuration: grid (%u,%u,%u), block (%u,%u,%u)", c.name, c.site, g.x, g.y,
             g.z, b.x, b.y, b.z);
        set_error(cudaErrorInvalidConfiguration);
        return;
    }
    const int limit = max_dyn_smem(c.fn);
    if (c.smem > (size_t)limit) {
        warn("launch of %s at %s: %zu bytes of dynamic shared memory, above the %d allowed (48 KiB unless "
             "cudaFuncSetAttribute raised it, up to %zu)",
             c.name, c.site, c.smem, limit, SMEM_OPTIN);
        set_error(cudaErrorInvalidValue);
        return;
    }
    static const uint64_t seed0 = (uint64_t)env_long("CUDA_HOST_SEED", 1);
    static std::atomic<uint64_t> launch_no{0};
    const uint64_t seed = seed0 * 0x9E3779B97F4A7C15ull + launch_no++;
    enqueue(c.stream, [c, body = std::move(body), seed] {
        g_stats.launches++;
        const long t0 = now_ns();
        run_grid(c, body, seed);
        g_stats.kernel_ns += now_ns() - t0;
    });
}

static cudaError_t copy_check(const char *call, void *dst, const void *src, size_t n, cudaMemcpyKind k) {
    uintptr_t b;
    size_t sz;
    const bool dd = find_alloc(dst, &b, &sz), sd = find_alloc(src, &b, &sz);
    bool want_dd = k == cudaMemcpyHostToDevice || k == cudaMemcpyDeviceToDevice;
    bool want_sd = k == cudaMemcpyDeviceToHost || k == cudaMemcpyDeviceToDevice;
    if (k == cudaMemcpyDefault) want_dd = dd, want_sd = sd;
    if (dd != want_dd || sd != want_sd) {
        warn("%s: kind %d, but the destination is %s memory and the source %s memory", call, (int)k,
             dd ? "device" : "host", sd ? "device" : "host");
        return cudaErrorInvalidMemcpyDirection;
    }
    if (dd) check_device(call, dst, n);
    if (sd) check_device(call, src, n);
    return cudaSuccess;
}

} // namespace cuda_host

using namespace cuda_host;

const char *cudaGetErrorName(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    default: return "cudaErrorUnknown";
    }
}
const char *cudaGetErrorString(cudaError_t e) {
    switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    default: return "unknown error";
    }
}
cudaError_t cudaGetLastError() {
    cudaError_t e = t_last_error;
    t_last_error = cudaSuccess;
    return e;
}
cudaError_t cudaPeekAtLastError() { return t_last_error; }

// CUDA_HOST_DEVICES=0 makes the layer report no device (the tests of the
// CPU fallback); otherwise one emulated H100.
static int device_count() { return (int)env_long("CUDA_HOST_DEVICES", 1) > 0 ? 1 : 0; }
cudaError_t cudaGetDeviceCount(int *n) {
    *n = device_count();
    if (!*n) {
        set_error(cudaErrorNoDevice);
        return cudaErrorNoDevice;
    }
    return cudaSuccess;
}
cudaError_t cudaGetDevice(int *d) {
    *d = 0;
    return cudaSuccess;
}
cudaError_t cudaSetDevice(int d) { return d == 0 && device_count() ? cudaSuccess : cudaErrorInvalidDevice; }
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int dev) {
    if (dev != 0 || !device_count()) return cudaErrorInvalidDevice;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "cuda_host CPU execution layer (H100 limits, sm_90)");
    memcpy(p->uuid.bytes, "cuda_host-emu-00", 16);
    p->totalGlobalMem = GLOBAL_MEM;
    p->sharedMemPerBlock = SMEM_DEFAULT;
    p->sharedMemPerBlockOptin = SMEM_OPTIN;
    p->major = CC_MAJOR;
    p->minor = CC_MINOR;
    p->multiProcessorCount = SM_COUNT;
    p->maxThreadsPerBlock = MAX_THREADS;
    p->maxThreadsPerMultiProcessor = 2048;
    p->warpSize = 32;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 0x7fffffff;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    return cudaSuccess;
}
cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr a, int dev) {
    if (dev != 0 || !device_count()) return cudaErrorInvalidDevice;
    switch (a) {
    case cudaDevAttrMaxThreadsPerBlock: *v = MAX_THREADS; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *v = (int)SMEM_DEFAULT; break;
    case cudaDevAttrWarpSize: *v = 32; break;
    case cudaDevAttrMultiProcessorCount: *v = SM_COUNT; break;
    case cudaDevAttrComputeCapabilityMajor: *v = CC_MAJOR; break;
    case cudaDevAttrComputeCapabilityMinor: *v = CC_MINOR; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *v = (int)SMEM_OPTIN; break;
    default: fatal("cudaDeviceGetAttribute(%d): not modelled by the CPU execution layer", (int)a);
    }
    return cudaSuccess;
}
// Versions of CUDA 13.0, the toolkit the kernels are built with.
cudaError_t cudaDriverGetVersion(int *v) {
    *v = 13000;
    return cudaSuccess;
}
cudaError_t cudaRuntimeGetVersion(int *v) {
    *v = 13000;
    return cudaSuccess;
}
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes) {
    size_t used = 0;
    {
        std::lock_guard<std::mutex> lk(g_mu);
        for (auto &a : g_allocs) used += a.second;
    }
    *total_bytes = GLOBAL_MEM;
    *free_bytes = used < GLOBAL_MEM ? GLOBAL_MEM - used : 0;
    return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() { return capture_forbids("cudaDeviceSynchronize"); }
cudaError_t cudaDeviceReset() { return cudaSuccess; }

cudaError_t cuda_host_func_set_attribute(const void *f, cudaFuncAttribute a, int v) {
    if (a == cudaFuncAttributeMaxDynamicSharedMemorySize) {
        if (v < 0 || (size_t)v > SMEM_OPTIN) return cudaErrorInvalidValue;
        std::lock_guard<std::mutex> lk(g_mu);
        g_max_dyn_smem[f] = v;
    }
    return cudaSuccess;
}

cudaError_t cuda_host_malloc(void **p, size_t n) {
    if (cudaError_t e = capture_forbids("cudaMalloc")) return e;
    void *q = nullptr;
    if (n > GLOBAL_MEM || posix_memalign(&q, 256, n ? n : 1)) return cudaErrorMemoryAllocation;
    static const long fill = env_long("CUDA_HOST_FILL", 0xff);
    if (fill >= 0) memset(q, (int)fill, n);
    std::lock_guard<std::mutex> lk(g_mu);
    g_allocs[(uintptr_t)q] = n;
    *p = q;
    return cudaSuccess;
}
cudaError_t cudaFree(void *p) {
    if (!p) return cudaSuccess; // the idiom that initialises a context
    if (cudaError_t e = capture_forbids("cudaFree")) return e;
    {
        std::lock_guard<std::mutex> lk(g_mu);
        auto it = g_allocs.find((uintptr_t)p);
        if (it == g_allocs.end()) {
            warn("cudaFree(%p): not the start of a live cudaMalloc allocation", p);
            return cudaErrorInvalidDevicePointer;
        }
        g_allocs.erase(it);
    }
    free(p);
    return cudaSuccess;
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, cudaMemcpyKind k) {
    if (cudaError_t e = capture_forbids("cudaMemcpy")) return e;
    if (cudaError_t e = copy_check("cudaMemcpy", dst, src, n, k)) return e;
    memmove(dst, src, n);
    return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, cudaMemcpyKind k, cudaStream_t s) {
    if (cudaError_t e = copy_check("cudaMemcpyAsync", dst, src, n, k)) return e;
    enqueue(s, [=] { memmove(dst, src, n); });
    return cudaSuccess;
}
// 2D copies: `height` rows of `width` bytes, `dpitch`/`spitch` bytes apart;
// each side checked as the span from its first to its last byte, as cuda
// requires width <= pitch.
static cudaError_t copy2d_check(const char *call, void *dst, size_t dpitch, const void *src, size_t spitch,
                                size_t width, size_t height, cudaMemcpyKind k) {
    if (width > dpitch || width > spitch) return cudaErrorInvalidValue;
    if (!height || !width) return cudaSuccess;
    if (cudaError_t e = copy_check(call, dst, src, 0, k)) return e; // the direction
    uintptr_t b;
    size_t sz;
    if (find_alloc(dst, &b, &sz)) check_device(call, dst, dpitch * (height - 1) + width);
    if (find_alloc(src, &b, &sz)) check_device(call, src, spitch * (height - 1) + width);
    return cudaSuccess;
}
static void copy2d(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height) {
    for (size_t r = 0; r < height; r++) memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
}
cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                         cudaMemcpyKind k) {
    if (cudaError_t e = capture_forbids("cudaMemcpy2D")) return e;
    if (cudaError_t e = copy2d_check("cudaMemcpy2D", dst, dpitch, src, spitch, width, height, k)) return e;
    copy2d(dst, dpitch, src, spitch, width, height);
    return cudaSuccess;
}
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width, size_t height,
                              cudaMemcpyKind k, cudaStream_t s) {
    if (cudaError_t e = copy2d_check("cudaMemcpy2DAsync", dst, dpitch, src, spitch, width, height, k)) return e;
    enqueue(s, [=] { copy2d(dst, dpitch, src, spitch, width, height); });
    return cudaSuccess;
}
cudaError_t cudaMemset(void *p, int v, size_t n) {
    if (cudaError_t e = capture_forbids("cudaMemset")) return e;
    check_device("cudaMemset", p, n);
    memset(p, v, n);
    return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void *p, int v, size_t n, cudaStream_t s) {
    check_device("cudaMemsetAsync", p, n);
    enqueue(s, [=] { memset(p, v, n); });
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *s) {
    *s = new cuda_host_stream();
    return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t s) {
    if (!s) return cudaErrorInvalidResourceHandle;
    if (s->capturing) warn("cudaStreamDestroy of a stream that is capturing");
    delete s;
    return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t s) {
    cuda_host_stream *st = stream_of(s);
    if (st->capturing) {
        st->invalidated = true;
        warn("cudaStreamSynchronize of a capturing stream: the capture is invalidated");
        return cudaErrorStreamCaptureUnsupported;
    }
    return capture_forbids("cudaStreamSynchronize");
}
cudaError_t cudaStreamBeginCapture(cudaStream_t s, cudaStreamCaptureMode mode) {
    if (!s) return cudaErrorStreamCaptureUnsupported; // the legacy stream cannot capture
    if (s->capturing) return cudaErrorIllegalAddress;
    s->capturing = true;
    s->invalidated = false;
    s->mode = mode;
    s->ops.clear();
    if (mode == cudaStreamCaptureModeGlobal) g_global_captures++;
    if (mode != cudaStreamCaptureModeRelaxed) t_captures++;
    return cudaSuccess;
}
cudaError_t cudaStreamEndCapture(cudaStream_t s, cudaGraph_t *g) {
    cuda_host_stream *st = stream_of(s);
    if (!st->capturing) return cudaErrorIllegalAddress;
    st->capturing = false;
    if (st->mode == cudaStreamCaptureModeGlobal) g_global_captures--;
    if (st->mode != cudaStreamCaptureModeRelaxed) t_captures--;
    if (st->invalidated) {
        *g = nullptr;
        st->ops.clear();
        return cudaErrorStreamCaptureInvalidated;
    }
    *g = new cuda_host_graph{std::move(st->ops)};
    st->ops.clear();
    return cudaSuccess;
}
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *e, cudaGraph_t g, unsigned long long) {
    if (!g) return cudaErrorInvalidValue;
    *e = new cuda_host_graph{g->ops};
    return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t s) {
    if (!e) return cudaErrorInvalidValue;
    enqueue(s, [e] {
        for (auto &op : e->ops) op();
    });
    return cudaSuccess;
}
cudaError_t cudaGraphDestroy(cudaGraph_t g) {
    delete g;
    return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) {
    delete e;
    return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *e) {
    *e = new cuda_host_event();
    return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t e) {
    delete e;
    return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t e, cudaStream_t s) {
    if (!e) return cudaErrorInvalidResourceHandle;
    enqueue(s, [e] {
        e->ns = now_ns();
        e->recorded = true;
    });
    return cudaSuccess;
}
cudaError_t cudaEventSynchronize(cudaEvent_t e) { return e ? cudaSuccess : cudaErrorInvalidResourceHandle; }
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t a, cudaEvent_t b) {
    if (!a || !b || !a->recorded || !b->recorded) return cudaErrorInvalidResourceHandle;
    *ms = (float)((b->ns - a->ns) * 1e-6);
    return cudaSuccess;
}
