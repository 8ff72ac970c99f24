/* Linked instead of kernels/ when the build has no CUDA (NO_CUDA=1 or no
 * nvcc): `--device auto` then falls back to the CPU with a notice. */
#include "monolab/backend.h"
#include "monolab/common.h"
#include "monolab/embed.h"
#include <stdio.h>

const ml_backend *ml_backend_cuda_get(char *reason, size_t len) {
    snprintf(reason, len, "this build has no CUDA backend");
    return NULL;
}

void ml_embed_run_cuda(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                       double *t_select, double *t_cluster) {
    (void)L; (void)o; (void)sel; (void)res; (void)t_select; (void)t_cluster;
    ml_fatal("internal: CUDA embed called in a build without CUDA");
}
