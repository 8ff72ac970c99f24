// Every CUDA, cuBLAS and cuRAND call goes through these: a failure names the
// call, file and line and exits cleanly (exit 1); results already written
// stay valid because every output file is written atomically or appended
// with fsync.
//
// Kernel launches are asynchronous: a bad launch configuration shows at
// once, but a fault inside a kernel (an illegal address, say) surfaces at
// the next synchronising call, far from its cause. MONOLAB_CUDA_SYNC=1
// makes every launch check synchronise and name the kernel that failed;
// it also turns CUDA Graph capture off, since a capture cannot synchronise.
#ifndef MONOLAB_CUDA_CHECK_H
#define MONOLAB_CUDA_CHECK_H
#include <cstdio>
#include <cstdlib>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include "launch.cuh"

#define cudaCheck(call)                                                                                    \
    do {                                                                                                   \
        cudaError_t e_ = (call);                                                                           \
        if (e_ != cudaSuccess) {                                                                           \
            fprintf(stderr, "monolab: fatal: %s failed at %s:%d: %s\n", #call, __FILE__, __LINE__,          \
                    cudaGetErrorString(e_));                                                               \
            exit(1);                                                                                       \
        }                                                                                                  \
    } while (0)

#define cublasCheck(call)                                                                                  \
    do {                                                                                                   \
        cublasStatus_t s_ = (call);                                                                        \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                                 \
            fprintf(stderr, "monolab: fatal: %s failed at %s:%d: cuBLAS status %d\n", #call, __FILE__,      \
                    __LINE__, (int)s_);                                                                    \
            exit(1);                                                                                       \
        }                                                                                                  \
    } while (0)

// MONOLAB_CUDA_SYNC set to anything but "0" or "".
static inline bool ml_cuda_sync_mode() {
    static int mode = -1;
    if (mode < 0) {
        const char *e = getenv("MONOLAB_CUDA_SYNC");
        mode = e && *e && !(e[0] == '0' && e[1] == 0);
    }
    return mode != 0;
}

static inline void ml_cuda_launch_check(const char *kernel, const char *file, int line) {
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess) {
        fprintf(stderr, "monolab: fatal: launch of kernel %s failed at %s:%d: %s\n", kernel, file, line,
                cudaGetErrorString(e));
        exit(1);
    }
    if (!ml_cuda_sync_mode()) return;
    e = cudaDeviceSynchronize();
    if (e != cudaSuccess) {
        fprintf(stderr, "monolab: fatal: kernel %s (launched at %s:%d) failed: %s\n", kernel, file, line,
                cudaGetErrorString(e));
        exit(1);
    }
}

// After every launch: launch errors now; with MONOLAB_CUDA_SYNC=1 also the
// kernel's own faults, named.
#define cudaLaunchCheck(name) ml_cuda_launch_check(name, __FILE__, __LINE__)

// Device arrays, for every kernel file: n elements of T (at least one, so
// that an empty array is still a distinct pointer for cudaFree), failing as
// cudaCheck does. With total, the bytes are added to it (the training
// backend reports its footprint).
template <typename T> static T *ml_dalloc(size_t n, size_t *total = nullptr) {
    T *p = nullptr;
    cudaCheck(cudaMalloc(&p, sizeof(T) * (n ? n : 1)));
    if (total) *total += sizeof(T) * (n ? n : 1);
    return p;
}

// A device copy of n host elements.
template <typename T> static T *ml_dupload(const T *h, size_t n, size_t *total = nullptr) {
    T *p = ml_dalloc<T>(n, total);
    cudaCheck(cudaMemcpy(p, h, sizeof(T) * n, cudaMemcpyHostToDevice));
    return p;
}

#endif
