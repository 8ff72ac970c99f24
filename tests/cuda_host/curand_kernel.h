// NVIDIA's own cuRAND device API (the toolkit's curand_kernel.h), compiled
// as host code for the CPU execution layer, so that monolab's Philox is
// checked against the real thing, not a second copy of it. Its host path
// declares variables named blockDim and threadIdx, which are macros here:
// they are hidden around the include.
#ifndef CUDA_HOST_CURAND_KERNEL_H
#define CUDA_HOST_CURAND_KERNEL_H
#include "cuda_runtime.h"
#pragma push_macro("blockDim")
#pragma push_macro("threadIdx")
#undef blockDim
#undef threadIdx
#include_next <curand_kernel.h>
#pragma pop_macro("threadIdx")
#pragma pop_macro("blockDim")
#endif
