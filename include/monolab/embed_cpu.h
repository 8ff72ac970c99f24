/* The CPU twin of embed's compute (src/embed_cpu.c), behind the CPU
 * backend's `embed` member; its CUDA twin is kernels/embed_cuda.cu. */
#ifndef MONOLAB_EMBED_CPU_H
#define MONOLAB_EMBED_CPU_H
#include "monolab/embed_layer.h"

/* docs/science.md §2.2 selection for every neuron (sel[n] filled), then
 * embedding, HAC and the §2.4 metrics (res[n] filled), with the two stages'
 * times (file reading excluded). */
void ml_embed_cpu(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                  double *t_select, double *t_cluster);

#endif
