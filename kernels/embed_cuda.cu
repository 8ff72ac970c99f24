// CUDA twin of src/embed_cpu.c (docs/science.md §2), stage for stage under
// the same names, so that the two read side by side:
//   next_chunk       activations z = pre W by cuBLAS in row chunks, the screen
//   neuron_maxima    pass 1: each neuron's maximum on canonical pre-activations
//                    (one thread per neuron)
//   select_examples  the margins, pass 1, then pass 2: first-qualifying
//                    selection, one thread per neuron (the scan body shared
//                    with the CPU through embed_scan.h)
//   embed_cluster    embeddings gathered for a batch of neurons, all their
//                    Gram matrices in one strided-batched GEMM, and one
//                    thread block per neuron for the distances, HAC, cut and
//                    metrics, with both condensed distance vectors in shared
//                    memory (the HAC bodies are hac.h, shared with the CPU)
//   ml_embed_cuda    the two stages, timed as ml_embed_cpu times them
// The device-only steps around them (upload_layer, w_columns,
// download_selection, download_results) move data, no arithmetic.
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

// E[q][a][:] = h_row * w_j (or h), zero past the neuron's examples. w_j is
// read from Wt, W's columns as rows: the block's threads read consecutive
// floats (W itself would put them n floats apart).
__global__ void gather_kernel(const float *pre, const float *Wt, const int64_t *row, const int *count, int j0, int nb,
                              int d, int cap, int pre_mlp, float *E) {
    int q = blockIdx.y, a = blockIdx.x, j = j0 + q;
    float *e = E + ((size_t)q * cap + a) * d;
    bool live = q < nb && a < count[j];
    const float *h = live ? pre + (size_t)row[(size_t)j * cap + a] * d : nullptr;
    const float *w = Wt + (size_t)j * d;
    for (int c = threadIdx.x; c < d; c += blockDim.x)
        e[c] = live ? (pre_mlp ? h[c] : h[c] * w[c]) : 0.0f;
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

// The layer on the device, with the cuBLAS handle every stage uses.
struct dev_layer {
    const ml_layer *L; // the host layer: sizes, activation, max_act
    cublasHandle_t blas;
    float *pre, *W, *b; // [T][d], [d][n], [n]
    int64_t *doc;       // [T], or null
    float *Wt;          // [n][d]: W's columns as rows (w_columns), for the selection and the gather
};

static const float one = 1, zero = 0;

// W's columns made contiguous (Wt [n][d]) for the canonical pre-activations
// (embed_scan.h; embed_cpu.c's ml_layer_w_columns).
static float *w_columns(const dev_layer *D) {
    const int d = D->L->d, n = D->L->n;
    float *Wt = ml_dalloc<float>((size_t)d * n);
    // Wt (column-major d x n, ld d) = transpose of W (column-major n x d, ld n); an exact copy
    // (B is Wt itself with beta 0; zeroed first so that a read of it cannot bring NaN from fresh memory)
    cudaCheck(cudaMemset(Wt, 0, sizeof(float) * d * n));
    cublasCheck(cublasSgeam(D->blas, CUBLAS_OP_T, CUBLAS_OP_N, d, n, &one, D->W, n, &zero, Wt, d, Wt, d));
    return Wt;
}

static void upload_layer(dev_layer *D, const ml_layer *L, cublasHandle_t blas) {
    D->L = L;
    D->blas = blas;
    D->pre = ml_dupload(L->pre, (size_t)L->T * L->d);
    D->W = ml_dupload(L->W, (size_t)L->d * L->n);
    D->b = ml_dupload(L->b, (size_t)L->n);
    D->doc = L->doc ? ml_dupload(L->doc, (size_t)L->T) : nullptr;
    D->Wt = w_columns(D);
}

// Advance to the next chunk of rows [*r0, *r1) and put z = pre W (bias
// added by the kernels) in A [(r1-r0) x n], row-major. Returns 0 after the
// last chunk. (embed_cpu.c's next_chunk, by cuBLAS.)
static int next_chunk(const dev_layer *D, int *r0, int *r1, float *A) {
    const ml_layer *L = D->L;
    *r0 = *r1;
    if (*r0 >= L->T) return 0;
    *r1 = std::min(*r0 + CHUNK_ROWS, L->T);
    cublasCheck(cublasSgemm(D->blas, CUBLAS_OP_N, CUBLAS_OP_N, L->n, *r1 - *r0, L->d, &one, D->W, L->n,
                            D->pre + (size_t)*r0 * L->d, L->d, &zero, A, L->n));
    return 1;
}


static const int TPB = 256; // threads per block of the one-thread-per-neuron kernels

// Pass 1: the canonical maximum of z per neuron (embed_scan.h), then phi of it, in mx.
static void neuron_maxima(const dev_layer *D, const float *Wt, const float *margin, float *A, float *mx) {
    const ml_layer *L = D->L;
    const int n = L->n, nblk = (n + TPB - 1) / TPB;
    std::vector<float> ninf(n, -INFINITY);
    std::vector<double> ninf_d(n, -INFINITY);
    double *mxc = ml_dupload(ninf_d.data(), n);
    cudaCheck(cudaMemcpy(mx, ninf.data(), sizeof(float) * n, cudaMemcpyHostToDevice));
    for (int r0 = 0, r1 = 0; next_chunk(D, &r0, &r1, A);) {
        ML_LAUNCH(max_kernel, nblk, TPB, 0, 0)(A, D->b, D->pre, Wt, margin, r0, r1 - r0, n, L->d, mx, mxc);
        cudaLaunchCheck("max");
    }
    ML_LAUNCH(finish_max_kernel, nblk, TPB, 0, 0)(mxc, n, L->act, mx);
    cudaLaunchCheck("finish_max");
    cudaCheck(cudaFree(mxc));
}

static scan_state scan_alloc(int n, int cap) {
    return scan_state{ml_dalloc<ml_open_ex>(n),           ml_dalloc<int>(n),
                      ml_dalloc<int64_t>((size_t)n * cap), ml_dalloc<int64_t>((size_t)n * cap),
                      ml_dalloc<float>((size_t)n * cap),   ml_dalloc<ml_scan_neuron>(n)};
}

static void scan_free(scan_state *s) {
    void *bufs[] = {s->cur, s->count, s->ex, s->row, s->act, s->nq};
    for (void *p : bufs) cudaCheck(cudaFree(p));
}

// The selection comes back in one copy per array (not per neuron: 36,864
// neurons would be ~184,000 synchronous copies) and is scattered here.
static void download_selection(const scan_state *s, int n, int cap, ml_selection *sel) {
    std::vector<int> count(n);
    std::vector<int64_t> h_ex((size_t)n * cap), h_row((size_t)n * cap);
    std::vector<float> h_act((size_t)n * cap);
    cudaCheck(cudaMemcpy(count.data(), s->count, sizeof(int) * n, cudaMemcpyDeviceToHost));
    cudaCheck(cudaMemcpy(h_ex.data(), s->ex, sizeof(int64_t) * n * cap, cudaMemcpyDeviceToHost));
    cudaCheck(cudaMemcpy(h_row.data(), s->row, sizeof(int64_t) * n * cap, cudaMemcpyDeviceToHost));
    cudaCheck(cudaMemcpy(h_act.data(), s->act, sizeof(float) * n * cap, cudaMemcpyDeviceToHost));
    for (int j = 0; j < n; j++) {
        sel[j].n = count[j];
        sel[j].example = (int64_t *)ml_malloc(sizeof(int64_t) * cap);
        sel[j].row = (int64_t *)ml_malloc(sizeof(int64_t) * cap);
        sel[j].act = (float *)ml_malloc(sizeof(float) * cap);
        memcpy(sel[j].example, &h_ex[(size_t)j * cap], sizeof(int64_t) * cap);
        memcpy(sel[j].row, &h_row[(size_t)j * cap], sizeof(int64_t) * cap);
        memcpy(sel[j].act, &h_act[(size_t)j * cap], sizeof(float) * cap);
    }
}

// embed_cpu.c's select_examples: margins, maxima (pass 1, unless the layer
// brings them), then the examples in order (pass 2). The selection stays on
// the device in s for embed_cluster and is copied into sel.
static void select_examples(const dev_layer *D, const ml_embed_opts *o, scan_state *s, ml_selection *sel) {
    const ml_layer *L = D->L;
    const int n = L->n, d = L->d, cap = o->max_examples, nblk = (n + TPB - 1) / TPB;
    float *A = ml_dalloc<float>((size_t)CHUNK_ROWS * n), *mx;
    std::vector<float> h_margin(n); // the screen's margins (host, shared with the CPU)
    ml_embed_margins(L, h_margin.data());
    float *margin = ml_dupload(h_margin.data(), n);
    const float *Wt = D->Wt;
    if (L->max_act) {
        mx = ml_dupload(L->max_act, n);
    } else {
        mx = ml_dalloc<float>(n);
        neuron_maxima(D, Wt, margin, A, mx);
    }
    *s = scan_alloc(n, cap);
    ML_LAUNCH(scan_init_kernel, nblk, TPB, 0, 0)(*s, mx, margin, Wt, D->b, n, d, o->act_frac, L->act);
    cudaLaunchCheck("scan_init");
    // pass 2: walk the examples in order; the last chunk closes each neuron's open example
    for (int r0 = 0, r1 = 0; next_chunk(D, &r0, &r1, A);) {
        ML_LAUNCH(scan_kernel, nblk, TPB, 0, 0)(*s, A, D->b, D->pre, D->doc, r0, r1 - r0, n, d, cap, L->act,
                                                r1 >= L->T);
        cudaLaunchCheck("scan");
    }
    download_selection(s, n, cap, sel);
    void *bufs[] = {A, mx, margin};
    for (void *p : bufs) cudaCheck(cudaFree(p));
}

// Shared memory of one cluster_kernel block: both condensed distance
// vectors, the norms and the HAC scratch.
static size_t cluster_smem(int cap) {
    size_t nc = (size_t)cap * (cap - 1) / 2;
    return sizeof(double) * (2 * nc + cap) + sizeof(int) * ML_HAC_ISCRATCH(cap);
}

// The per-neuron results come back in one copy per array, as the selection does.
static void download_results(const int *count_dev, const double *Z, const int *lab, const double *met, int n, int cap,
                             ml_neuron_result *res) {
    const size_t zlen = (size_t)4 * (cap > 1 ? cap - 1 : 1);
    std::vector<int> count(n), hlab((size_t)n * cap);
    std::vector<double> hm((size_t)n * 5), hZ((size_t)n * zlen);
    cudaCheck(cudaMemcpy(count.data(), count_dev, sizeof(int) * n, cudaMemcpyDeviceToHost));
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
}

// embed_cpu.c's embed_cluster, NEURON_BATCH neurons at a time: their
// embeddings, all their Gram matrices in one batched GEMM, then one block
// per neuron for distances, HAC, cut and metrics.
static void embed_cluster(const dev_layer *D, const ml_embed_opts *o, const scan_state *s, ml_neuron_result *res) {
    const ml_layer *L = D->L;
    const int n = L->n, d = L->d, cap = o->max_examples;
    const size_t smem = cluster_smem(cap);
    float *E = ml_dalloc<float>((size_t)NEURON_BATCH * cap * d), *G = ml_dalloc<float>((size_t)NEURON_BATCH * cap * cap);
    double *Z = ml_dalloc<double>((size_t)n * 4 * (cap > 1 ? cap - 1 : 1)), *met = ml_dalloc<double>((size_t)n * 5);
    int *lab = ml_dalloc<int>((size_t)n * cap);
    cudaCheck(cudaFuncSetAttribute(cluster_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    for (int j0 = 0; j0 < n; j0 += NEURON_BATCH) {
        int nb = std::min(NEURON_BATCH, n - j0);
        ML_LAUNCH(gather_kernel, dim3(cap, nb), 128, 0, 0)(D->pre, D->Wt, s->row, s->count, j0, nb, d, cap,
                                                           o->pre_mlp, E);
        cudaLaunchCheck("gather");
        // G (cap x cap) = E Eᵀ for each neuron: column-major view of E is Eᵀ (d x cap)
        cublasCheck(cublasSgemmStridedBatched(D->blas, CUBLAS_OP_T, CUBLAS_OP_N, cap, cap, d, &one, E, d,
                                              (long long)cap * d, E, d, (long long)cap * d, &zero, G, cap,
                                              (long long)cap * cap, nb));
        ML_LAUNCH(cluster_kernel, nb, 128, smem, 0)(G, s->count, j0, nb, cap, o->threshold, Z, lab, met);
        cudaLaunchCheck("cluster");
    }
    download_results(s->count, Z, lab, met, n, cap, res);
    void *bufs[] = {E, G, Z, met, lab};
    for (void *p : bufs) cudaCheck(cudaFree(p));
}

// A --max-examples whose cluster block needs more shared memory than the
// device has stops before any work.
static void check_cluster_smem(int cap) {
    int dev = 0, smem_max = 0;
    cudaCheck(cudaGetDevice(&dev));
    cudaCheck(cudaDeviceGetAttribute(&smem_max, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    if (cluster_smem(cap) > (size_t)smem_max)
        ml_die("embed: --max-examples %d needs %zu bytes of shared memory per neuron on the GPU, more than its %d; "
               "use fewer examples or --device cpu", cap, cluster_smem(cap), smem_max);
}

// The stages of ml_embed_cpu (src/embed_cpu.c), timed the same way.
extern "C" void ml_embed_cuda(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                              double *t_select, double *t_cluster) {
    check_cluster_smem(o->max_examples);
    // Context start-up and cuBLAS initialisation are not the pipeline's
    // work: they happen before the selection timer starts.
    cudaCheck(cudaFree(nullptr));
    cublasHandle_t blas;
    cublasCheck(cublasCreate(&blas));
    cublasCheck(cublasSetMathMode(blas, CUBLAS_PEDANTIC_MATH)); // fp32 Gram, as the CPU
    cudaCheck(cudaDeviceSynchronize());
    double t0 = ml_now();
    dev_layer D;
    upload_layer(&D, L, blas);
    scan_state s;
    select_examples(&D, o, &s, sel);
    *t_select = ml_now() - t0;
    t0 = ml_now();
    embed_cluster(&D, o, &s, res);
    *t_cluster = ml_now() - t0;
    scan_free(&s);
    void *bufs[] = {D.pre, D.W, D.b, D.doc, D.Wt};
    for (void *p : bufs)
        if (p) cudaCheck(cudaFree(p));
    cublasCheck(cublasDestroy(blas));
}
