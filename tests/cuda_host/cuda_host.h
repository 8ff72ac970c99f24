// What the execution layer's parts share (not seen by the kernels).
#ifndef CUDA_HOST_CUDA_HOST_H
#define CUDA_HOST_CUDA_HOST_H
#include "cuda_runtime.h"
#include <atomic>

namespace cuda_host {
enum order_policy { ORDER_NATURAL, ORDER_REVERSE, ORDER_RANDOM };
// CUDA_HOST_ORDER, read once.
order_policy order();
long env_long(const char *name, long dflt);
uint64_t splitmix64(uint64_t &s);
// Runs every block of one launch (already checked), in CUDA_HOST_ORDER.
void run_grid(const launch_config &c, const std::function<void()> &body, uint64_t seed);

// CUDA_HOST_STATS=1 prints these at exit.
struct stats {
    std::atomic<long> launches{0}, threads{0}, switches{0}, kernel_ns{0}, blas_ns{0};
};
extern stats g_stats;
long now_ns();

// The emulated device: an H100 SXM's limits.
constexpr int SM_COUNT = 132, MAX_THREADS = 1024, CC_MAJOR = 9, CC_MINOR = 0;
constexpr size_t SMEM_DEFAULT = 48 * 1024, SMEM_OPTIN = 227 * 1024;
constexpr size_t GLOBAL_MEM = (size_t)80 << 30;
} // namespace cuda_host
#endif
