/* How close the CUDA twin must come to the CPU twin, op by op: the one
 * contract `monolab selftest` (src/selftest.c) and the GPU op test
 * (tests/gpu/test_backend_ops.c) both hold a device to.
 *
 * The two twins sum their GEMMs in different orders (OpenBLAS and cuBLAS),
 * so an op's output differs in its last bits: a normalised error of 1e-5 in
 * fp32 leaves room for that and none for a wrong kernel; TF32 rounds the
 * GEMM inputs to 10 bits, hence 5e-3. Gradients and updated parameters go
 * through one more GEMM and the optimiser's division: 10x. From the second
 * step on, both sides run on states the previous updates have moved apart:
 * an Adam-type update turns a 1e-7 difference in a near-zero gradient into
 * a difference of a whole step, so the ops of step 1 and later get 10x
 * more (on the CPU execution layer with CUDA_HOST_GEMM_ORDER=split, a
 * GEMM order other than the CPU's, step 2's Y reached 1.7e-5). */
#ifndef MONOLAB_TWIN_TOLERANCE_H
#define MONOLAB_TWIN_TOLERANCE_H
#include "monolab/vocab.h"

enum { ML_TWIN_GRAD_FACTOR = 10, ML_TWIN_DRIFT_FACTOR = 10 };

/* The tolerance of a forward or loss output at step `step` (0-based). */
static inline double ml_twin_tol(ml_precision prec, long step) {
    return (prec == PREC_TF32 ? 5e-3 : 1e-5) * (step > 0 ? ML_TWIN_DRIFT_FACTOR : 1);
}

#endif
