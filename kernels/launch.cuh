// The three source forms through which every kernel file launches kernels
// and declares shared memory, so that the same source builds with nvcc and
// runs on the CPU execution layer of the tests (tests/cuda_host/, which
// defines them there; docs/architecture.md "The CUDA source on the CPU"):
//   ML_LAUNCH(kernel, grid, block, smem, stream)(args...);  kernel<<<grid, block, smem, stream>>>(args...)
//   ML_DYN_SHARED(float, v);                                extern __shared__ float v[];
//   __shared__ int n; ML_POISON_SHARED(n);                  after every static __shared__ declaration:
//                                                           nothing under nvcc; on the CPU layer it fills
//                                                           the variable with garbage when a block starts,
//                                                           as a device's shared memory holds
// tests/test_cuda_source_forms.py checks that no .cu file uses the plain forms.
#ifndef MONOLAB_LAUNCH_CUH
#define MONOLAB_LAUNCH_CUH
#ifndef ML_CUDA_HOST
#define ML_LAUNCH(k, grid, block, smem, stream) k<<<grid, block, smem, stream>>>
#define ML_DYN_SHARED(type, name) extern __shared__ type name[]
#define ML_POISON_SHARED(name)
#endif
#endif
