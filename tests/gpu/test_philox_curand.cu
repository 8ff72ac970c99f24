// GPU test: monolab's Philox stream (include/monolab/philox.h) equals
// cuRAND's device API, curand_init(seed, step | stream << 32, 4 * index)
// followed by curand4(), bit for bit, both as the host build of ml_draw
// (what the CPU backend runs) and as its device build (what the CUDA
// kernels run). Run by `make test-gpu`.
#include <cstdio>
#include <cstdlib>
#include <curand_kernel.h>
#include "monolab/philox.h"
#include "../../kernels/launch.cuh"

#define CUDA_CHECK(call)                                                                          \
    do {                                                                                          \
        cudaError_t e_ = (call);                                                                  \
        if (e_ != cudaSuccess) {                                                                  \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

__global__ void draw_kernel(unsigned long long seed, unsigned stream, unsigned step, unsigned long long base,
                            int n, uint4 *out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    curandStatePhilox4_32_10_t s;
    unsigned long long index = base + (unsigned long long)i * 977ULL;
    curand_init(seed, (unsigned long long)step | ((unsigned long long)stream << 32), 4ULL * index, &s);
    out[i] = curand4(&s);
}

// The device build of ml_draw, as the sample kernels call it.
__global__ void ml_draw_kernel(unsigned long long seed, unsigned stream, unsigned step, unsigned long long base, int n,
                               uint4 *out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    ml_u32x4 c = ml_draw(seed, stream, step, base + (unsigned long long)i * 977ULL);
    out[i] = make_uint4(c.v[0], c.v[1], c.v[2], c.v[3]);
}

int main(void) {
    const int n = 1 << 16;
    uint4 *d, *dm, *h = (uint4 *)malloc(sizeof(uint4) * n), *hm = (uint4 *)malloc(sizeof(uint4) * n);
    CUDA_CHECK(cudaMalloc(&d, sizeof(uint4) * n));
    CUDA_CHECK(cudaMalloc(&dm, sizeof(uint4) * n));
    long bad_dev = 0;
    const unsigned long long seeds[] = {0ULL, 1ULL, 0x0123456789abcdefULL};
    const unsigned streams[] = {0, 1, 5};
    const unsigned steps[] = {0, 7, 131071};
    const unsigned long long bases[] = {0ULL, 1ULL << 33};
    long bad = 0, total = 0;
    for (auto seed : seeds)
        for (auto stream : streams)
            for (auto step : steps)
                for (auto base : bases) {
                    ML_LAUNCH(draw_kernel, (n + 255) / 256, 256, 0, 0)(seed, stream, step, base, n, d);
                    CUDA_CHECK(cudaGetLastError());
                    CUDA_CHECK(cudaMemcpy(h, d, sizeof(uint4) * n, cudaMemcpyDeviceToHost));
                    ML_LAUNCH(ml_draw_kernel, (n + 255) / 256, 256, 0, 0)(seed, stream, step, base, n, dm);
                    CUDA_CHECK(cudaGetLastError());
                    CUDA_CHECK(cudaMemcpy(hm, dm, sizeof(uint4) * n, cudaMemcpyDeviceToHost));
                    for (int i = 0; i < n; i++) {
                        ml_u32x4 c = ml_draw(seed, stream, step, base + (unsigned long long)i * 977ULL);
                        bad += c.v[0] != h[i].x || c.v[1] != h[i].y || c.v[2] != h[i].z || c.v[3] != h[i].w;
                        bad_dev += hm[i].x != h[i].x || hm[i].y != h[i].y || hm[i].z != h[i].z || hm[i].w != h[i].w;
                        total++;
                    }
                }
    CUDA_CHECK(cudaFree(d));
    CUDA_CHECK(cudaFree(dm));
    free(h);
    free(hm);
    printf("philox vs cuRAND: host ml_draw %ld of %ld draws differ; device ml_draw %ld of %ld differ\n", bad, total,
           bad_dev, total);
    int failed = (bad != 0) + (bad_dev != 0);
    printf("%d passed, %d failed\n", 2 - failed, failed);
    return failed != 0;
}
