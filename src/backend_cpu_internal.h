/* Read access to the CPU backend's working buffers, for tests that compare
 * them with PyTorch and finite differences. Not part of the public API. */
#ifndef MONOLAB_BACKEND_CPU_INTERNAL_H
#define MONOLAB_BACKEND_CPU_INTERNAL_H
const float *ml_cpu_X(void *st);
const float *ml_cpu_T(void *st);
const float *ml_cpu_grads(void *st);
#endif
