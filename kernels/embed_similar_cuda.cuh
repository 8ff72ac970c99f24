/* The CUDA twin of ml_similar_topk (src/embed_similar.c), behind the CUDA
 * backend's `similar_topk` member: the same contract (embed_similar.h).
 * Includable from C (the GPU tests call the tiled form to cross tiles at
 * small sizes). */
#ifndef MONOLAB_EMBED_SIMILAR_CUDA_CUH
#define MONOLAB_EMBED_SIMILAR_CUDA_CUH
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
void ml_similar_topk_cuda(const float *E, int64_t C, int d, const int *group, int k, int64_t *idx, float *sim);
/* The same with tiles of row_block rows by col_block columns (the default
 * form uses 4,096 by 2,048). */
void ml_similar_topk_cuda_tiled(const float *E, int64_t C, int d, const int *group, int k, int64_t *idx, float *sim,
                                int row_block, int col_block);
#ifdef __cplusplus
}
#endif
#endif
