// Every CUDA, cuBLAS and cuRAND call goes through these: a failure names the
// call, file and line and exits cleanly (exit 1); results already written
// stay valid because every output file is written atomically or appended
// with fsync.
#ifndef MONOLAB_CUDA_CHECK_H
#define MONOLAB_CUDA_CHECK_H
#include <cstdio>
#include <cstdlib>
#include <cublas_v2.h>
#include <cuda_runtime.h>

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

// After every launch: launch errors now, execution errors at the next sync.
#define cudaLaunchCheck(name) cudaCheck(cudaGetLastError())

#endif
