/* The CUDA twin of embed's compute (kernels/embed_cuda.cu), behind the
 * CUDA backend's `embed` member: the same contract as ml_embed_cpu
 * (include/monolab/embed_cpu.h). */
#pragma once
#include "monolab/embed_layer.h"

extern "C" void ml_embed_cuda(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                              double *t_select, double *t_cluster);
