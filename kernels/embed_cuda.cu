// CUDA twin of src/embed_cpu.c (docs/science.md §2): activations
// by cuBLAS in row chunks as a screen, per-neuron max and first-qualifying
// selection on canonical pre-activations (one thread per neuron, the scan
// body shared with the CPU through embed_scan.h), embeddings gathered for a batch of neurons, all their Gram
// matrices in one strided-batched GEMM, and one thread block per neuron for
// the distances, HAC, cut and metrics, with both condensed distance vectors
// in shared memory (the HAC bodies are hac.h, shared with the CPU).
#include "cuda_check.h"
#include "embed_cuda.cuh"
#include <algorithm>
#include <cstring>
#include <vector>
extern "C" {
#include "monolab/common.h"
#include "monolab/embed_scan.h"
#include "monolab/hac.h"
}

#define CHUNK_ROWS 4096
#define NEURON_BATCH 2048

// Pass 1 over one chunk: each neuron's float and canonical maxima (embed_scan.h).
__global__ void max_kernel(const float *A, const float *b, const float *pre, const float *Wt, const float *margin,
                           int r0, int rows, int n, int d, float *mx, double *mxc) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    float m = mx[j];
    double mc = mxc[j];
    for (int r = 0; r < rows; r++)
        ml_max_row(&m, &mc, A[(size_t)r * n + j] + b[j], margin[j], pre + (size_t)(r0 + r) * d, Wt + (size_t)j * d, d,
                   b[j]);
    mx[j] = m;
    mxc[j] = mc;
}

__global__ void finish_max_kernel(const double *mxc, int n, int act, float *mx) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j < n) mx[j] = ml_max_act(act, mxc[j]);
}

struct scan_state {
    ml_open_ex *cur;
    int *count;
    int64_t *ex, *row; // [n][cap]
    float *act;
    ml_scan_neuron *nq;
};

__global__ void scan_init_kernel(scan_state s, const float *mx, const float *margin, const float *Wt, const float *b,
                                 int n, int d, double act_frac, int act) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    s.cur[j].best = -INFINITY;
    s.cur[j].key = -1;
    s.cur[j].ex = -1;
    s.count[j] = 0;
    ml_scan_neuron q;
    q.w = Wt + (size_t)j * d;
    q.b = b[j];
    ml_scan_limits(mx[j], act_frac, act, margin[j], &q.thr, &q.bound);
    s.nq[j] = q;
}

__global__ void scan_kernel(scan_state s, const float *A, const float *b, const float *pre, const int64_t *doc, int r0,
                            int rows, int n, int d, int cap, int act, int close) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n) return;
    ml_sel_slots slot = {&s.count[j], s.ex + (size_t)j * cap, s.row + (size_t)j * cap, s.act + (size_t)j * cap};
    ml_open_ex cur = s.cur[j];
    const ml_scan_neuron q = s.nq[j];
    for (int r = 0; r < rows; r++) {
        int64_t ex = doc ? doc[r0 + r] : r0 + r;
        ml_scan_row(&cur, ex, r0 + r, A[(size_t)r * n + j] + b[j], pre + (size_t)(r0 + r) * d, d, act, &q, cap, slot);
    }
    if (close) ml_scan_close(&cur, q.thr, cap, slot);
    s.cur[j] = cur;
}

// E[q][a][:] = h_row * w_j (or h), zero past the neuron's examples.
__global__ void gather_kernel(const float *pre, const float *W, const int64_t *row, const int *count, int j0, int nb,
                              int n, int d, int cap, int pre_mlp, float *E) {
    int q = blockIdx.y, a = blockIdx.x, j = j0 + q;
    float *e = E + ((size_t)q * cap + a) * d;
    bool live = q < nb && a < count[j];
    const float *h = live ? pre + (size_t)row[(size_t)j * cap + a] * d : nullptr;
    for (int c = threadIdx.x; c < d; c += blockDim.x)
        e[c] = live ? (pre_mlp ? h[c] : h[c] * W[(size_t)c * n + j]) : 0.0f;
}

// One block per neuron: condensed distances from the Gram matrix (all
// threads), then HAC, cut and metrics (thread 0, the shared bodies).
__global__ void cluster_kernel(const float *Gm, const int *count, int j0, int nb, int cap, double threshold,
                               double *Z, int *labels, double *metrics) {
    ML_DYN_SHARED(double, smem);
    int q = blockIdx.x, j = j0 + q;
    if (q >= nb) return;
    int n = count[j];
    size_t nc = (size_t)cap * (cap - 1) / 2;
    double *Dc = smem, *Dw = smem + nc, *nrm = smem + 2 * nc;
    int *is = (int *)(nrm + cap);
    const float *G = Gm + (size_t)q * cap * cap;
    for (int a = threadIdx.x; a < n; a += blockDim.x) nrm[a] = sqrt(fmax((double)G[(size_t)a * cap + a], 0.0));
    __syncthreads();
    for (int e = threadIdx.x; e < n * n; e += blockDim.x) {
        int a = e / n, b = e % n;
        if (b <= a) continue;
        double dist = ml_cos_dist(G[(size_t)a * cap + b], nrm[a], nrm[b]);
        Dc[ml_cidx(n, a, b)] = dist;
        Dw[ml_cidx(n, a, b)] = dist;
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    double *z = Z + (size_t)j * 4 * (cap - 1);
    int *lab = labels + (size_t)j * cap;
    ml_hac_nnchain(Dw, n, z, is);
    int k = ml_hac_cut_impl(z, n, threshold, lab, is);
    ml_poly_metrics pm;
    ml_poly_metrics_impl(Dc, n, lab, k, &pm);
    double *m = metrics + (size_t)j * 5;
    m[0] = pm.n_clusters; m[1] = pm.max_dist; m[2] = pm.mean_dist; m[3] = pm.mean_intra; m[4] = pm.mean_inter;
}

template <typename T> static T *dnew(size_t n) {
    T *p = nullptr;
    cudaCheck(cudaMalloc(&p, sizeof(T) * (n ? n : 1)));
    return p;
}

static void embed_cuda(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                       double *t_select, double *t_cluster) {
    const int n = L->n, d = L->d, T = L->T, cap = o->max_examples;
    size_t nc = (size_t)cap * (cap - 1) / 2;
    size_t smem = sizeof(double) * (2 * nc + cap) + sizeof(int) * ML_HAC_ISCRATCH(cap);
    int dev = 0, smem_max = 0;
    cudaCheck(cudaGetDevice(&dev));
    cudaCheck(cudaDeviceGetAttribute(&smem_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    if (smem > (size_t)smem_max)
        ml_die("embed: --max-examples %d needs %zu bytes of shared memory per neuron on the GPU, more than its %d; "
               "use fewer examples or --device cpu", cap, smem, smem_max);
    // Context start-up and cuBLAS initialisation are not the pipeline's
    // work: they happen before the selection timer starts.
    cudaCheck(cudaFree(nullptr));
    cublasHandle_t blas;
    cublasCheck(cublasCreate(&blas));
    cublasCheck(cublasSetMathMode(blas, CUBLAS_PEDANTIC_MATH)); // fp32 Gram, as the CPU
    cudaCheck(cudaDeviceSynchronize());
    double t0 = ml_now();
    float *pre = dnew<float>((size_t)T * d), *W = dnew<float>((size_t)d * n), *b = dnew<float>(n);
    cudaCheck(cudaMemcpy(pre, L->pre, sizeof(float) * T * d, cudaMemcpyHostToDevice));
    cudaCheck(cudaMemcpy(W, L->W, sizeof(float) * d * n, cudaMemcpyHostToDevice));
    cudaCheck(cudaMemcpy(b, L->b, sizeof(float) * n, cudaMemcpyHostToDevice));
    int64_t *doc = nullptr;
    if (L->doc) {
        doc = dnew<int64_t>(T);
        cudaCheck(cudaMemcpy(doc, L->doc, sizeof(int64_t) * T, cudaMemcpyHostToDevice));
    }
    float *A = dnew<float>((size_t)CHUNK_ROWS * n), *mx = dnew<float>(n);
    const float one = 1, zero = 0;
    const int tpb = 256, nblk = (n + tpb - 1) / tpb;
    // The screen's margins (host, shared with the CPU) and W's columns made
    // contiguous for the canonical pre-activations (embed_scan.h).
    std::vector<float> h_margin(n);
    ml_embed_margins(L, h_margin.data());
    float *margin = dnew<float>(n), *Wt = dnew<float>((size_t)d * n);
    cudaCheck(cudaMemcpy(margin, h_margin.data(), sizeof(float) * n, cudaMemcpyHostToDevice));
    // Wt (column-major d x n, ld d) = transpose of W (column-major n x d, ld n); an exact copy
    // (B is Wt itself with beta 0; zeroed first so that a read of it cannot bring NaN from fresh memory)
    cudaCheck(cudaMemset(Wt, 0, sizeof(float) * d * n));
    cublasCheck(cublasSgeam(blas, CUBLAS_OP_T, CUBLAS_OP_N, d, n, &one, W, n, &zero, Wt, d, Wt, d));
    auto chunk = [&](int r0, int rows) { // A (row-major rows x n) = pre W
        cublasCheck(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, n, rows, d, &one, W, n, pre + (size_t)r0 * d, d, &zero,
                                A, n));
    };
    if (L->max_act) {
        cudaCheck(cudaMemcpy(mx, L->max_act, sizeof(float) * n, cudaMemcpyHostToDevice));
    } else {
        std::vector<float> ninf(n, -INFINITY);
        std::vector<double> ninf_d(n, -INFINITY);
        double *mxc = dnew<double>(n);
        cudaCheck(cudaMemcpy(mx, ninf.data(), sizeof(float) * n, cudaMemcpyHostToDevice));
        cudaCheck(cudaMemcpy(mxc, ninf_d.data(), sizeof(double) * n, cudaMemcpyHostToDevice));
        for (int r0 = 0; r0 < T; r0 += CHUNK_ROWS) {
            int rows = std::min(CHUNK_ROWS, T - r0);
            chunk(r0, rows);
            ML_LAUNCH(max_kernel, nblk, tpb, 0, 0)(A, b, pre, Wt, margin, r0, rows, n, d, mx, mxc);
            cudaLaunchCheck("max");
        }
        ML_LAUNCH(finish_max_kernel, nblk, tpb, 0, 0)(mxc, n, L->act, mx);
        cudaLaunchCheck("finish_max");
        cudaCheck(cudaFree(mxc));
    }
    scan_state s{dnew<ml_open_ex>(n), dnew<int>(n), dnew<int64_t>((size_t)n * cap), dnew<int64_t>((size_t)n * cap),
                 dnew<float>((size_t)n * cap), dnew<ml_scan_neuron>(n)};
    ML_LAUNCH(scan_init_kernel, nblk, tpb, 0, 0)(s, mx, margin, Wt, b, n, d, o->act_frac, L->act);
    cudaLaunchCheck("scan_init");
    for (int r0 = 0; r0 < T; r0 += CHUNK_ROWS) {
        int rows = std::min(CHUNK_ROWS, T - r0);
        chunk(r0, rows);
        ML_LAUNCH(scan_kernel, nblk, tpb, 0, 0)(s, A, b, pre, doc, r0, rows, n, d, cap, L->act, r0 + rows >= T);
        cudaLaunchCheck("scan");
    }
    // Results come back in one copy per array (not per neuron: 36,864
    // neurons would be ~184,000 synchronous copies) and are scattered here.
    std::vector<int> count(n);
    std::vector<int64_t> h_ex((size_t)n * cap), h_row((size_t)n * cap);
    std::vector<float> h_act((size_t)n * cap);
    cudaCheck(cudaMemcpy(count.data(), s.count, sizeof(int) * n, cudaMemcpyDeviceToHost));
    cudaCheck(cudaMemcpy(h_ex.data(), s.ex, sizeof(int64_t) * n * cap, cudaMemcpyDeviceToHost));
    cudaCheck(cudaMemcpy(h_row.data(), s.row, sizeof(int64_t) * n * cap, cudaMemcpyDeviceToHost));
    cudaCheck(cudaMemcpy(h_act.data(), s.act, sizeof(float) * n * cap, cudaMemcpyDeviceToHost));
    for (int j = 0; j < n; j++) {
        sel[j].n = count[j];
        sel[j].example = (int64_t *)ml_malloc(sizeof(int64_t) * cap);
        sel[j].row = (int64_t *)ml_malloc(sizeof(int64_t) * cap);
        sel[j].act = (float *)ml_malloc(sizeof(float) * cap);
        memcpy(sel[j].example, &h_ex[(size_t)j * cap], sizeof(int64_t) * cap);
        memcpy(sel[j].row, &h_row[(size_t)j * cap], sizeof(int64_t) * cap);
        memcpy(sel[j].act, &h_act[(size_t)j * cap], sizeof(float) * cap);
    }
    *t_select = ml_now() - t0;
    t0 = ml_now();
    // embed + cluster, NEURON_BATCH neurons at a time
    float *E = dnew<float>((size_t)NEURON_BATCH * cap * d), *G = dnew<float>((size_t)NEURON_BATCH * cap * cap);
    double *Z = dnew<double>((size_t)n * 4 * (cap > 1 ? cap - 1 : 1)), *met = dnew<double>((size_t)n * 5);
    int *lab = dnew<int>((size_t)n * cap);
    cudaCheck(cudaFuncSetAttribute(cluster_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    for (int j0 = 0; j0 < n; j0 += NEURON_BATCH) {
        int nb = std::min(NEURON_BATCH, n - j0);
        ML_LAUNCH(gather_kernel, dim3(cap, nb), 128, 0, 0)(pre, W, s.row, s.count, j0, nb, n, d, cap, o->pre_mlp, E);
        cudaLaunchCheck("gather");
        // G (cap x cap) = E Eᵀ for each neuron: column-major view of E is Eᵀ (d x cap)
        cublasCheck(cublasSgemmStridedBatched(blas, CUBLAS_OP_T, CUBLAS_OP_N, cap, cap, d, &one, E, d,
                                              (long long)cap * d, E, d, (long long)cap * d, &zero, G, cap,
                                              (long long)cap * cap, nb));
        ML_LAUNCH(cluster_kernel, nb, 128, smem, 0)(G, s.count, j0, nb, cap, o->threshold, Z, lab, met);
        cudaLaunchCheck("cluster");
    }
    std::vector<double> hm((size_t)n * 5), hZ((size_t)n * 4 * (cap > 1 ? cap - 1 : 1));
    std::vector<int> hlab((size_t)n * cap);
    cudaCheck(cudaMemcpy(hm.data(), met, sizeof(double) * n * 5, cudaMemcpyDeviceToHost));
    cudaCheck(cudaMemcpy(hZ.data(), Z, sizeof(double) * hZ.size(), cudaMemcpyDeviceToHost));
    cudaCheck(cudaMemcpy(hlab.data(), lab, sizeof(int) * hlab.size(), cudaMemcpyDeviceToHost));
    for (int j = 0; j < n; j++) {
        ml_neuron_result *r = &res[j];
        int c = count[j];
        r->labels = (int *)ml_calloc((size_t)(c ? c : 1), sizeof(int));
        r->Z = (double *)ml_calloc((size_t)(c > 1 ? c - 1 : 1) * 4, sizeof(double));
        if (c) memcpy(r->labels, &hlab[(size_t)j * cap], sizeof(int) * c);
        if (c > 1) memcpy(r->Z, &hZ[(size_t)j * 4 * (cap - 1)], sizeof(double) * 4 * (c - 1));
        r->n_clusters = (int)hm[j * 5];
        r->max_dist = hm[j * 5 + 1];
        r->mean_dist = hm[j * 5 + 2];
        r->mean_intra = hm[j * 5 + 3];
        r->mean_inter = hm[j * 5 + 4];
    }
    *t_cluster = ml_now() - t0;
    void *bufs[] = {pre, W, b, doc, A, mx, margin, Wt, s.cur, s.count, s.ex, s.row, s.act, s.nq, E, G, Z, met, lab};
    for (void *p : bufs)
        if (p) cudaCheck(cudaFree(p));
    cublasCheck(cublasDestroy(blas));
}

extern "C" void ml_embed_cuda(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                              double *t_select, double *t_cluster) {
    embed_cuda(L, o, sel, res, t_select, t_cluster);
}
