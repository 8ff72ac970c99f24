/* CPU reference backend: OpenBLAS sgemm for the matrix products, OpenMP
 * over (model, row block) for everything else.
 *
 * Determinism: every output element is produced by the same arithmetic in
 * the same order whatever G or the thread count is. Work is split into
 * row blocks of the *output* (never of a reduction), as many per model as
 * its shape alone decides (blocks_per_model), BLAS runs single-
 * threaded inside each task, and every reduction (loss, LAMB norms, db1)
 * runs in a fixed order over fixed-size chunks. That is what makes a model
 * bit-identical alone and inside a group (tests/test_group.c). */
#include "monolab/backend.h"
#include "monolab/common.h"
#include "monolab/elementwise.h"
#include "monolab/embed_cpu.h"
#include "monolab/embed_similar.h"
#include "monolab/philox_x8.h"
#include "monolab/threads.h"
#include <cblas.h>
#ifdef __AVX2__
#include <immintrin.h>
#endif
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* OpenBLAS's own thread pool would fight OpenMP; we parallelise above it. */
extern void openblas_set_num_threads(int);


typedef struct {
    float *params, *grads, *m1, *m2; /* [G][n_param] */
    float *X;                        /* [G][B][m] */
    float *T, *Y;                    /* [G][B][out]; Y becomes dY in backward */
    float *PRE, *H, *dH;             /* [G][B][k] */
    double *rowloss;                 /* [G][B] */
    double *loss;                    /* [G] */
    long *frozen_at;                 /* [G] */
    double *part_p, *part_a;         /* LAMB partial norms, [G][n_chunks] */
    size_t n_chunks;
    int nb;  /* row blocks per model: fixed by the model's shape (blocks_per_model) */
    int nt;  /* threads this step uses: all, or fewer while the cores are shared */
    ml_thread_gauge gauge;
} cpu_state;

/* Multiply-adds and element updates of one model's training step. */
static double model_step_work(const ml_group *g) {
    return (double)g->B * ((double)g->k * (g->m + g->out) + g->N) + (double)g->n_param;
}

/* Row blocks per model: a model's step is cut into this many blocks of rows
 * of its outputs (batch rows for the forward pass and dH, rows of dW1, dW2
 * and S), each computed whole by one thread in one sgemm call. The cut is
 * part of the model's arithmetic: an sgemm may round an element
 * differently in a call of other rows (OpenBLAS 0.3.21's Haswell and Zen
 * kernels do for most shapes, tests/test_row_split.c). So it comes from the
 * model's shape alone, never from the group size or the thread count, which
 * is what keeps a model bit-identical alone, in any group and on any number
 * of threads (docs/architecture.md "Determinism"). It once came from both
 * (enough blocks for G x blocks to cover the threads), and models on such
 * CPUs then changed bits with them.
 *
 * The bounds trade speed both ways: a model alone gets enough blocks to
 * feed up to CPU_MAX_BLOCKS threads, while every block keeps at least
 * CPU_BLOCK_WORK multiply-adds and CPU_BLOCK_MIN_ROWS batch rows, so that
 * the calls of a big group stay worth making (each call packs its operands
 * again). Small models (under 2 x CPU_BLOCK_WORK, the quickstart's among
 * them) stay one block. */
#define CPU_BLOCK_WORK (1L << 22)
#define CPU_BLOCK_MIN_ROWS 64
#define CPU_MAX_BLOCKS 16
static int blocks_per_model(const ml_group *g) {
    int nb = (int)(model_step_work(g) / (double)CPU_BLOCK_WORK);
    if (nb > g->B / CPU_BLOCK_MIN_ROWS) nb = g->B / CPU_BLOCK_MIN_ROWS;
    if (nb > CPU_MAX_BLOCKS) nb = CPU_MAX_BLOCKS;
    return nb < 1 ? 1 : nb;
}

/* Whether a group's step is big enough to split over threads. Every
 * parallel region ends in a barrier, and a barrier costs microseconds when
 * the other threads are spinning, about 100 us when they have gone to
 * sleep (a VM's wake-up), and a whole time slice when another process holds
 * their core. Tiny groups do a few microseconds of work per region, so on
 * one thread they run faster (a 12-model N=16 sweep: 0.11 s against 0.26 s
 * on 2 threads) and never wait; results are the same bits either way
 * (the thread count never changes the row blocks, see blocks_per_model). The bound counts
 * multiply-adds and element updates per step; on 2 cores the two ways break
 * even near 1.4M (N=64, m=16, k=16, B=128, 8 models), and 2 threads win by
 * 20% at 5M (k=64) (bench/RESULTS.md, "Shared machines"). */
static int cpu_parallel_worth(const ml_group *g) {
    return (double)g->G * model_step_work(g) >= (double)(1L << 21);
}

static inline void block_range(int n, int q, int nb, int *lo, int *hi) {
    *lo = (int)((long)n * q / nb);
    *hi = (int)((long)n * (q + 1) / nb);
}

static void *cpu_create(const ml_group *g) {
    openblas_set_num_threads(1);
    cpu_state *s = ml_calloc(1, sizeof *s);
    size_t G = (size_t)g->G, B = (size_t)g->B, np = g->n_param;
    s->params = ml_malloc(sizeof(float) * G * np);
    memcpy(s->params, g->init_params, sizeof(float) * G * np);
    s->grads = ml_calloc(G * np, sizeof(float));
    s->m1 = ml_calloc(G * np, sizeof(float));
    s->m2 = ml_calloc(G * np, sizeof(float));
    s->X = ml_calloc(G * B * g->m, sizeof(float));
    s->T = ml_calloc(G * B * g->out, sizeof(float));
    s->Y = ml_calloc(G * B * g->out, sizeof(float));
    s->PRE = ml_calloc(G * B * g->k, sizeof(float));
    s->H = ml_calloc(G * B * g->k, sizeof(float));
    s->dH = ml_calloc(G * B * g->k, sizeof(float));
    s->rowloss = ml_calloc(G * B, sizeof(double));
    s->loss = ml_calloc(G, sizeof(double));
    s->frozen_at = ml_malloc(G * sizeof(long));
    for (size_t i = 0; i < G; i++) s->frozen_at[i] = -1;
    s->n_chunks = (size_t)ml_opt_n_chunks(g->off_b1, g->off_W2, np);
    s->part_p = ml_calloc(G * s->n_chunks, sizeof(double));
    s->part_a = ml_calloc(G * s->n_chunks, sizeof(double));
    s->nb = blocks_per_model(g);
    /* never more threads than row blocks: a thread without one would only
     * wait at every barrier (a lone model of one block, N=64 k=256 say,
     * spun a second core for nothing) */
    int nt = cpu_parallel_worth(g) ? omp_get_max_threads() : 1;
    if (nt > g->G * s->nb) nt = g->G * s->nb;
    ml_thread_gauge_init(&s->gauge, nt, g->G * s->nb);
    s->nt = s->gauge.nt;
    return s;
}

static void cpu_destroy(void *st) {
    cpu_state *s = st;
    if (!s) return;
    free(s->params); free(s->grads); free(s->m1); free(s->m2);
    free(s->X); free(s->T); free(s->Y); free(s->PRE); free(s->H); free(s->dH);
    free(s->rowloss); free(s->loss); free(s->frozen_at); free(s->part_p); free(s->part_a);
    free(s);
}

/* A sample's features in tiles of SAMPLE_TILE: first every draw of the
 * tile (v[i] for features i0..i1), many Philox draws at a time on 8 or 16
 * lanes (ml_draw_words: the words ml_sample_feature draws), then the work
 * on the few active features. A loop doing both, as this once was, runs
 * one draw at a time: on the quickstart's tiny models sampling was three
 * quarters of the step (bench/RESULTS.md, "issue 28"). is_abs is a
 * constant at each call, so the select loop is branch-free and vectorises
 * too. */
#define SAMPLE_TILE 64 /* at most 64: nonzero_mask's bits */
static inline __attribute__((always_inline)) void draw_tile(const ml_group *g, int gi, uint32_t stream, uint32_t step,
                                                            int b, int i0, int i1, int is_abs, float *v) {
    const float *p = g->feat_p + (size_t)gi * g->N + i0;
    uint32_t w[4][SAMPLE_TILE];
    /* counter index b * N + i, as ml_sample_feature */
    ml_draw_words(g->seed[gi], stream, step, (uint64_t)b * (uint64_t)g->N + (uint64_t)i0, i1 - i0, &w[0][0],
                  SAMPLE_TILE);
    for (int i = 0; i < i1 - i0; i++) v[i] = ml_feature_value(w[0][i], w[1][i], w[2][i], w[3][i], p[i], is_abs);
}

/* Bit i set where v[i] != 0 (n <= 64). */
static inline uint64_t nonzero_mask(const float *v, int n) {
    uint64_t bits = 0;
    int i = 0;
#ifdef __AVX2__
    for (; i + 8 <= n; i += 8) {
        __m256 ne = _mm256_cmp_ps(_mm256_loadu_ps(v + i), _mm256_setzero_ps(), _CMP_NEQ_UQ);
        bits |= (uint64_t)(unsigned)_mm256_movemask_ps(ne) << i;
    }
#endif
    for (; i < n; i++) bits |= (uint64_t)(v[i] != 0.0f) << i;
    return bits;
}

static void cpu_sample(void *st, const ml_group *g, uint32_t stream, uint32_t step) {
    cpu_state *s = st;
    const int B = g->B, N = g->N, m = g->m, out = g->out;
    const int is_abs = g->shape.task == TASK_ABS, reproj = g->shape.task == TASK_REPROJECTOR;
    if (stream == ML_STREAM_TRAIN) s->nt = ml_thread_gauge_begin(&s->gauge); /* a training step starts */
    const int nb = s->nb;
#pragma omp parallel for collapse(2) schedule(static) num_threads(s->nt) if(s->nt > 1)
    for (int gi = 0; gi < g->G; gi++)
        for (int q = 0; q < nb; q++) {
            if (s->frozen_at[gi] >= 0) continue;
            int lo, hi;
            block_range(B, q, nb, &lo, &hi);
            const float *Pt = g->Pt + (size_t)gi * N * m;
            const float *Qt = reproj ? g->Qt + (size_t)gi * N * m : NULL;
            float v[SAMPLE_TILE];
            for (int b = lo; b < hi; b++) {
                float *x = s->X + ((size_t)gi * B + b) * m;
                float *t = s->T + ((size_t)gi * B + b) * out;
                memset(x, 0, sizeof(float) * m);
                if (reproj) memset(t, 0, sizeof(float) * out);
                for (int i0 = 0; i0 < N; i0 += SAMPLE_TILE) {
                    const int i1 = i0 + SAMPLE_TILE < N ? i0 + SAMPLE_TILE : N;
                    if (is_abs)
                        draw_tile(g, gi, stream, step, b, i0, i1, 1, v);
                    else
                        draw_tile(g, gi, stream, step, b, i0, i1, 0, v);
                    /* the target of a feature task is the features (|v| for abs), zeros included */
                    if (!reproj)
                        for (int i = i0; i < i1; i++) t[i] = is_abs ? fabsf(v[i - i0]) : v[i - i0];
                    /* the active features in order, from a bit mask: a
                     * branch per feature mispredicts on every active one */
                    for (uint64_t bits = nonzero_mask(v, i1 - i0); bits; bits &= bits - 1) {
                        const int i = i0 + __builtin_ctzll(bits);
                        const float vi = v[i - i0];
                        /* x = P v as a gather over the active features */
                        const float *col = Pt + (size_t)i * m;
                        for (int c = 0; c < m; c++) x[c] += vi * col[c];
                        if (reproj) {
                            const float *qc = Qt + (size_t)i * m;
                            for (int c = 0; c < m; c++) t[c] += vi * qc[c];
                        }
                    }
                }
            }
        }
}

static void cpu_forward(void *st, const ml_group *g) {
    cpu_state *s = st;
    const int B = g->B, m = g->m, k = g->k, out = g->out, act = (int)g->shape.act;
    const int nb = s->nb;
#pragma omp parallel for collapse(2) schedule(static) num_threads(s->nt) if(s->nt > 1)
    for (int gi = 0; gi < g->G; gi++)
        for (int q = 0; q < nb; q++) {
            if (s->frozen_at[gi] >= 0) continue;
            int lo, hi;
            block_range(B, q, nb, &lo, &hi);
            if (hi <= lo) continue;
            const float *P = s->params + (size_t)gi * g->n_param;
            const float *W1 = P + g->off_W1, *b1 = P + g->off_b1, *W2 = P + g->off_W2;
            const float *X = s->X + ((size_t)gi * B + lo) * m;
            float *PRE = s->PRE + ((size_t)gi * B + lo) * k;
            float *H = s->H + ((size_t)gi * B + lo) * k;
            float *Y = s->Y + ((size_t)gi * B + lo) * out;
            int nr = hi - lo;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, k, m, 1.0f, X, m, W1, m, 0.0f, PRE, k);
            for (size_t r = 0; r < (size_t)nr; r++)
                for (int j = 0; j < k; j++) {
                    float z = PRE[r * k + j] + b1[j];
                    PRE[r * k + j] = z;
                    H[r * k + j] = ml_act_fwd(act, z);
                }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nr, out, k, 1.0f, H, k, W2, k, 0.0f, Y, out);
        }
}

/* rowloss[b] = sum_o (y - t)^2; optionally turn Y into dY = 2 (y - t) / B.
 * Both sums are ML_LANES lane sums (elementwise.h), the GPU's order. */
static void loss_rows(cpu_state *s, const ml_group *g, int make_grad) {
    const int B = g->B, out = g->out, nb = s->nb;
    const float scale = 2.0f / (float)B;
#pragma omp parallel for collapse(2) schedule(static) num_threads(s->nt) if(s->nt > 1)
    for (int gi = 0; gi < g->G; gi++)
        for (int q = 0; q < nb; q++) {
            if (s->frozen_at[gi] >= 0) continue;
            int lo, hi;
            block_range(B, q, nb, &lo, &hi);
            for (int b = lo; b < hi; b++) {
                float *y = s->Y + ((size_t)gi * B + b) * out;
                const float *t = s->T + ((size_t)gi * B + b) * out;
                double lane[ML_LANES] = {0};
                /* whole rounds of ML_LANES outputs, then the rest: the
                 * same additions per lane, in a loop that vectorises */
                int o = 0;
                for (; o + ML_LANES <= out; o += ML_LANES)
                    for (int l = 0; l < ML_LANES; l++) {
                        float d = y[o + l] - t[o + l];
                        lane[l] += (double)d * d;
                        if (make_grad) y[o + l] = scale * d;
                    }
                for (int l = 0; o < out; o++, l++) {
                    float d = y[o] - t[o];
                    lane[l] += (double)d * d;
                    if (make_grad) y[o] = scale * d;
                }
                s->rowloss[(size_t)gi * B + b] = ml_lanes_fold(lane);
            }
        }
    for (int gi = 0; gi < g->G; gi++) {
        if (s->frozen_at[gi] >= 0) continue;
        double lane[ML_LANES] = {0};
        for (int b = 0; b < B; b++) lane[b % ML_LANES] += s->rowloss[(size_t)gi * B + b];
        s->loss[gi] = ml_lanes_fold(lane) / B;
    }
}

static void cpu_mse(void *st, const ml_group *g, double *out) {
    cpu_state *s = st;
    loss_rows(s, g, 0);
    for (int gi = 0; gi < g->G; gi++) out[gi] = s->frozen_at[gi] >= 0 ? NAN : s->loss[gi];
}

static void cpu_backward(void *st, const ml_group *g, long step) {
    cpu_state *s = st;
    const int B = g->B, m = g->m, k = g->k, out = g->out, act = (int)g->shape.act;
    loss_rows(s, g, 1);
    for (int gi = 0; gi < g->G; gi++)
        if (s->frozen_at[gi] < 0 && !isfinite(s->loss[gi])) {
            s->frozen_at[gi] = step;
            s->loss[gi] = NAN; /* a frozen model's loss reads NaN, inf or not (both backends) */
        }
    const int nb = s->nb;
    /* dH = dY W2, then dPRE = (dH + l1/B sign(h)) * phi'(pre), by batch rows */
#pragma omp parallel for collapse(2) schedule(static) num_threads(s->nt) if(s->nt > 1)
    for (int gi = 0; gi < g->G; gi++)
        for (int q = 0; q < nb; q++) {
            if (s->frozen_at[gi] >= 0) continue;
            int lo, hi;
            block_range(B, q, nb, &lo, &hi);
            if (hi <= lo) continue;
            const float *W2 = s->params + (size_t)gi * g->n_param + g->off_W2;
            const float *dY = s->Y + ((size_t)gi * B + lo) * out;
            float *dH = s->dH + ((size_t)gi * B + lo) * k;
            const float *H = s->H + ((size_t)gi * B + lo) * k;
            const float *PRE = s->PRE + ((size_t)gi * B + lo) * k;
            int nr = hi - lo;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nr, k, out, 1.0f, dY, out, W2, k, 0.0f, dH, k);
            const float reg = g->l1[gi] / (float)B;
            for (size_t e = 0; e < (size_t)nr * k; e++) {
                float d = dH[e];
                if (reg != 0.0f) d += reg * ml_sign(H[e]);
                dH[e] = d * ml_act_grad(act, PRE[e]);
            }
        }
    /* Weight gradients, split by rows of the gradient (never over B). */
#pragma omp parallel for collapse(2) schedule(static) num_threads(s->nt) if(s->nt > 1)
    for (int gi = 0; gi < g->G; gi++)
        for (int q = 0; q < nb; q++) {
            if (s->frozen_at[gi] >= 0) continue;
            float *grad = s->grads + (size_t)gi * g->n_param;
            const float *X = s->X + (size_t)gi * B * m;
            const float *dY = s->Y + (size_t)gi * B * out;
            const float *H = s->H + (size_t)gi * B * k;
            const float *dP = s->dH + (size_t)gi * B * k;
            int lo, hi;
            block_range(out, q, nb, &lo, &hi);
            if (hi > lo) /* dW2 = dYᵀ H */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hi - lo, k, B, 1.0f, dY + lo, out, H, k, 0.0f,
                            grad + g->off_W2 + (size_t)lo * k, k);
            block_range(k, q, nb, &lo, &hi);
            if (hi > lo) { /* dW1 = dPREᵀ X, db1 = column sums of dPRE */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hi - lo, m, B, 1.0f, dP + lo, k, X, m, 0.0f,
                            grad + g->off_W1 + (size_t)lo * m, m);
                /* slab order of elementwise.h, the GPU's two-stage sum */
                float *db1 = grad + g->off_b1, part[64];
                for (int j0 = lo; j0 < hi; j0 += 64) {
                    const int j1 = j0 + 64 < hi ? j0 + 64 : hi;
                    for (int j = j0; j < j1; j++) db1[j] = 0.0f;
                    for (int b0 = 0; b0 < B; b0 += ML_DB1_SLAB) {
                        const int b1e = b0 + ML_DB1_SLAB < B ? b0 + ML_DB1_SLAB : B;
                        for (int j = j0; j < j1; j++) part[j - j0] = 0.0f;
                        for (int b = b0; b < b1e; b++)
                            for (int j = j0; j < j1; j++) part[j - j0] += dP[(size_t)b * k + j];
                        for (int j = j0; j < j1; j++) db1[j] += part[j - j0];
                    }
                }
            }
        }
}

static void chunk_span(const ml_group *g, size_t c, size_t *lo, size_t *hi, int *tensor) {
    ml_opt_chunk(g->off_b1, g->off_W2, g->n_param, c, lo, hi, tensor);
}

static void cpu_optimize(void *st, const ml_group *g, long step, float sched, int decay_on) {
    cpu_state *s = st;
    const size_t np = g->n_param, nc = s->n_chunks;
    const ml_optim opt = g->shape.optimizer;
    float bc1, bc2s;
    ml_adam_bias_correction(step, &bc1, &bc2s);
    /* pass 1: moments (and for LAMB the direction and partial norms) */
#pragma omp parallel for collapse(2) schedule(static) num_threads(s->nt) if(s->nt > 1)
    for (int gi = 0; gi < g->G; gi++)
        for (size_t c = 0; c < nc; c++) {
            if (s->frozen_at[gi] >= 0) continue;
            size_t lo, hi;
            int tensor;
            chunk_span(g, c, &lo, &hi, &tensor);
            float *p = s->params + gi * np, *gr = s->grads + gi * np, *m1 = s->m1 + gi * np, *m2 = s->m2 + gi * np;
            const float lr = g->lr[gi] * sched;
            if (opt == OPT_LAMB) {
                /* ML_LANES lanes (elementwise.h): the GPU warp's order,
                 * and a loop that vectorises (sqrtf included, thanks to
                 * -fno-math-errno in the Makefile; without it this loop
                 * ran scalar at a third of the speed). */
                double pp[ML_LANES] = {0}, aa[ML_LANES] = {0};
                float *restrict gw = gr, *restrict mw = m1, *restrict vw = m2;
                const float *restrict pr = p;
                size_t i = lo;
                for (; i + ML_LANES <= hi; i += ML_LANES)
                    for (int l = 0; l < ML_LANES; l++) {
                        float a = ml_lamb_dir(gw[i + l], &mw[i + l], &vw[i + l]);
                        gw[i + l] = a;
                        pp[l] += (double)pr[i + l] * pr[i + l];
                        aa[l] += (double)a * a;
                    }
                for (int l = 0; i < hi; i++, l++) {
                    float a = ml_lamb_dir(gw[i], &mw[i], &vw[i]);
                    gw[i] = a;
                    pp[l] += (double)pr[i] * pr[i];
                    aa[l] += (double)a * a;
                }
                double sp = ml_lanes_fold(pp), sa = ml_lanes_fold(aa);
                s->part_p[gi * nc + c] = sp;
                s->part_a[gi * nc + c] = sa;
            } else {
                const float wdf = opt == OPT_ADAMW ? 1.0f - lr * (float)g->shape.weight_decay : 1.0f;
                for (size_t i = lo; i < hi; i++) p[i] = ml_adam_update(p[i], gr[i], &m1[i], &m2[i], lr, bc1, bc2s, wdf);
            }
        }
    if (opt == OPT_LAMB) {
        /* per-tensor trust ratio from the chunk partials, summed in order */
        float *ratio = ml_malloc(sizeof(float) * 3 * (size_t)g->G);
        for (int gi = 0; gi < g->G; gi++)
            ml_lamb_ratios(g->off_b1, g->off_W2, np, s->part_p + gi * nc, s->part_a + gi * nc, (int)nc, ratio + gi * 3);
#pragma omp parallel for collapse(2) schedule(static) num_threads(s->nt) if(s->nt > 1)
        for (int gi = 0; gi < g->G; gi++)
            for (size_t c = 0; c < nc; c++) {
                if (s->frozen_at[gi] >= 0) continue;
                size_t lo, hi;
                int t;
                chunk_span(g, c, &lo, &hi, &t);
                float *p = s->params + gi * np;
                const float *a = s->grads + gi * np;
                const float step_size = g->lr[gi] * sched * ratio[gi * 3 + t];
                for (size_t i = lo; i < hi; i++) p[i] -= step_size * a[i];
            }
        free(ratio);
    }
    if (decay_on)
        for (int gi = 0; gi < g->G; gi++) {
            if (s->frozen_at[gi] >= 0) continue;
            float *b1 = s->params + gi * np + g->off_b1;
            const float f = ml_bias_decay_factor(g->decay[gi], g->lr[gi]);
            for (int j = 0; j < g->k; j++) b1[j] *= f;
        }
    ml_thread_gauge_end(&s->gauge); /* the training step is done */
}

static void cpu_status(void *st, const ml_group *g, double *loss, long *frozen_at) {
    cpu_state *s = st;
    for (int gi = 0; gi < g->G; gi++) {
        if (loss) loss[gi] = s->loss[gi];
        if (frozen_at) frozen_at[gi] = s->frozen_at[gi];
    }
}

static void cpu_params(void *st, const ml_group *g, float *out) {
    cpu_state *s = st;
    memcpy(out, s->params, sizeof(float) * g->G * g->n_param);
}

static void cpu_sfa(void *st, const ml_group *g, float *S) {
    cpu_state *s = st;
    const int N = g->N, m = g->m, k = g->k, act = (int)g->shape.act;
    const int nb = s->nb;
#pragma omp parallel for collapse(2) schedule(static) num_threads(s->nt) if(s->nt > 1)
    for (int gi = 0; gi < g->G; gi++)
        for (int q = 0; q < nb; q++) {
            int lo, hi;
            block_range(k, q, nb, &lo, &hi);
            if (hi <= lo) continue;
            const float *P = s->params + (size_t)gi * g->n_param;
            const float *W1 = P + g->off_W1, *b1 = P + g->off_b1;
            float *Sg = S + (size_t)gi * k * N + (size_t)lo * N;
            /* row j of S: neuron j's response to each lone feature e_i */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, hi - lo, N, m, 1.0f, W1 + (size_t)lo * m, m,
                        g->Pt + (size_t)gi * N * m, m, 0.0f, Sg, N);
            for (int j = lo; j < hi; j++)
                for (int i = 0; i < N; i++) {
                    float *v = &Sg[(size_t)(j - lo) * N + i];
                    *v = ml_act_fwd(act, *v + b1[j]);
                }
        }
}

static void cpu_peek(void *st, const ml_group *g, const char *name, float *out) {
    cpu_state *s = st;
    const float *bufs[ML_N_BUFS] = {s->X, s->T, s->Y, s->PRE, s->H, s->dH, s->grads, s->m1, s->m2};
    size_t n;
    int i = ml_peek_buffer(g, name, &n);
    memcpy(out, bufs[i], sizeof(float) * n);
}

const ml_backend ml_backend_cpu = {
    .name = "cpu",
    .create = cpu_create,
    .destroy = cpu_destroy,
    .sample = cpu_sample,
    .forward = cpu_forward,
    .backward = cpu_backward,
    .optimize = cpu_optimize,
    .mse = cpu_mse,
    .status = cpu_status,
    .params = cpu_params,
    .sfa = cpu_sfa,
    .peek = cpu_peek,
    .memory_budget = NULL,
    .embed = ml_embed_cpu,
    .similar_topk = ml_similar_topk,
};
