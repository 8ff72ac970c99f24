/* Linked instead of kernels/ when the build has no CUDA (NO_CUDA=1 or no
 * nvcc): `--device auto` then falls back to the CPU with a notice. */
#include "monolab/backend.h"
#include "monolab/common.h"
#include <stdio.h>

const ml_backend *ml_backend_cuda_get(char *reason, size_t len) {
    snprintf(reason, len, "this build has no CUDA backend");
    return NULL;
}


int ml_cuda_device_id(ml_device_id *id) {
    (void)id;
    return 0;
}
