// CUDA twin of src/embed_similar.c's ml_similar_topk (similar clusters,
// docs/science.md §3): the same start (ml_similar_begin: empty slots, unit rows, on the host: O(C d)
// against the search's O(C^2 d)), the similarities by cuBLAS in fp32
// (pedantic math, as the CPU's sgemm), and every candidate through the
// CPU's own push rule (monolab/topk.h), so the lists are the CPU's up to
// the GEMMs' last bits. For each tile of rows, over the tiles of columns in
// increasing order:
//   cuBLAS               S [rows x cols], column-major: a warp's threads
//                        (consecutive rows) read consecutive addresses
//   topk_segment_kernel  the tile's columns cut into SEGMENTS ranges; one
//                        thread per (row, range) scans its range in
//                        increasing column order into its own list
//   topk_merge_kernel    one thread per row pushes the ranges' lists, in
//                        range order, into the row's running list (whose
//                        entries, from earlier tiles, all have lower
//                        indices): by topk.h's rule, the list the CPU's
//                        single scan keeps, ties included
#include "cuda_check.h"
#include "embed_similar_cuda.cuh"
#include <algorithm>
#include <cmath>
extern "C" {
#include "monolab/common.h"
#include "monolab/embed_similar.h"
#include "monolab/topk.h"
}

#define SEGMENTS 16
// A 32 MB tile of similarities: written by cuBLAS and read back by the scan
// while it is still in an H100's 50 MB L2 cache (the scan reads all C^2).
#define ROW_BLOCK 4096
#define COL_BLOCK 2048

// Thread (r, p): columns [c_lo, c_hi) of range p, for row r0 + r, into
// list (p, r) of the segment lists. Once the row's running list is full,
// only candidates strictly above its last entry can enter it (the rule's
// first line, and its last entry only rises), so the others are not kept:
// after the first tiles, the lists stay short and the merge cheap.
__global__ void topk_segment_kernel(const float *S, int nr, int nc, int64_t r0, int64_t c0, const int *group, int k,
                                    const float *run_s, const int *run_n, float *seg_s, int64_t *seg_i, int *seg_n) {
    int r = blockIdx.x * blockDim.x + threadIdx.x, p = blockIdx.y;
    if (r >= nr) return;
    int len = (nc + SEGMENTS - 1) / SEGMENTS, c_lo = p * len, c_hi = min(nc, c_lo + len);
    size_t list = (size_t)p * nr + r;
    float *ts = seg_s + list * k;
    int64_t *ti = seg_i + list * k;
    const bool full = run_n[r] == k;
    const float bar = full ? run_s[(size_t)r * k + k - 1] : 0;
    int cnt = 0, gi = group[r0 + r];
    for (int c = c_lo; c < c_hi; c++) {
        float s = S[(size_t)c * nr + r];
        if (group[c0 + c] != gi && (!full || s > bar)) ml_topk_push(ts, ti, &cnt, k, s, c0 + c);
    }
    seg_n[list] = cnt;
}

// Thread r: the ranges' lists, in range order, into row r's running list.
__global__ void topk_merge_kernel(int nr, int k, const float *seg_s, const int64_t *seg_i, const int *seg_n,
                                  float *run_s, int64_t *run_i, int *run_n) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r >= nr) return;
    int cnt = run_n[r];
    for (int p = 0; p < SEGMENTS; p++) {
        size_t list = (size_t)p * nr + r;
        for (int q = 0; q < seg_n[list]; q++)
            ml_topk_push(run_s + (size_t)r * k, run_i + (size_t)r * k, &cnt, k, seg_s[list * k + q],
                         seg_i[list * k + q]);
    }
    run_n[r] = cnt;
}

extern "C" void ml_similar_topk_cuda_tiled(const float *E, int64_t C, int d, const int *group, int k, int64_t *idx,
                                           float *sim, int row_block, int col_block) {
    float *U = ml_similar_begin(E, C, d, k, idx, sim);
    if (!U) return;
    cublasHandle_t blas;
    cublasCheck(cublasCreate(&blas));
    cublasCheck(cublasSetMathMode(blas, CUBLAS_PEDANTIC_MATH)); // fp32, as the CPU's sgemm
    float *dU = ml_dupload(U, (size_t)C * d);
    free(U);
    int *dg = ml_dupload(group, (size_t)C);
    const int nr_max = (int)std::min<int64_t>(C, row_block), nc_max = (int)std::min<int64_t>(C, col_block);
    float *S = ml_dalloc<float>((size_t)nr_max * nc_max);
    float *seg_s = ml_dalloc<float>((size_t)SEGMENTS * nr_max * k), *run_s = ml_dalloc<float>((size_t)nr_max * k);
    int64_t *seg_i = ml_dalloc<int64_t>((size_t)SEGMENTS * nr_max * k), *run_i = ml_dalloc<int64_t>((size_t)nr_max * k);
    int *seg_n = ml_dalloc<int>((size_t)SEGMENTS * nr_max), *run_n = ml_dalloc<int>(nr_max);
    const float one = 1, zero = 0;
    for (int64_t r0 = 0; r0 < C; r0 += row_block) {
        int nr = (int)std::min<int64_t>(C - r0, row_block);
        // the running lists start as the CPU's do: empty (idx -1, sim NaN, copied back as they are)
        cudaCheck(cudaMemcpy(run_s, sim + r0 * k, sizeof(float) * nr * k, cudaMemcpyHostToDevice));
        cudaCheck(cudaMemcpy(run_i, idx + r0 * k, sizeof(int64_t) * nr * k, cudaMemcpyHostToDevice));
        cudaCheck(cudaMemset(run_n, 0, sizeof(int) * nr));
        for (int64_t c0 = 0; c0 < C; c0 += col_block) {
            int nc = (int)std::min<int64_t>(C - c0, col_block);
            // S (nr x nc, column-major) = rows' Uᵀ · columns' U; U row-major [C][d] is column-major d x C
            cublasCheck(cublasSgemm(blas, CUBLAS_OP_T, CUBLAS_OP_N, nr, nc, d, &one, dU + r0 * d, d, dU + c0 * d, d,
                                    &zero, S, nr));
            ML_LAUNCH(topk_segment_kernel, dim3((nr + 127) / 128, SEGMENTS), 128, 0, 0)(S, nr, nc, r0, c0, dg, k,
                                                                                        run_s, run_n, seg_s, seg_i, seg_n);
            cudaLaunchCheck("topk_segment");
            ML_LAUNCH(topk_merge_kernel, (nr + 127) / 128, 128, 0, 0)(nr, k, seg_s, seg_i, seg_n, run_s, run_i, run_n);
            cudaLaunchCheck("topk_merge");
        }
        cudaCheck(cudaMemcpy(sim + r0 * k, run_s, sizeof(float) * nr * k, cudaMemcpyDeviceToHost));
        cudaCheck(cudaMemcpy(idx + r0 * k, run_i, sizeof(int64_t) * nr * k, cudaMemcpyDeviceToHost));
    }
    void *bufs[] = {dU, dg, S, seg_s, run_s, seg_i, run_i, seg_n, run_n};
    for (void *p : bufs) cudaCheck(cudaFree(p));
    cublasCheck(cublasDestroy(blas));
}

extern "C" void ml_similar_topk_cuda(const float *E, int64_t C, int d, const int *group, int k, int64_t *idx,
                                     float *sim) {
    ml_similar_topk_cuda_tiled(E, C, d, group, k, idx, sim, ROW_BLOCK, COL_BLOCK);
}
