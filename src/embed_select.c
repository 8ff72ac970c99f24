/* Example selection (SPEC §2.2): activations A = pre W + b, one GEMM per
 * chunk of rows; each neuron keeps the FIRST max_examples examples (in
 * dataset order) whose activation reaches act_frac * its maximum. With
 * doc_index an example is a context: its activation is the max over its
 * tokens and its key token the first argmax. A neuron whose maximum is
 * <= 0 has no qualifying examples. Neurons are split across threads, so
 * the result does not depend on the thread count. */
#include "monolab/common.h"
#include "monolab/embed.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_ROWS 2048

/* Activations of rows [r0, r1) into A [(r1-r0) x n]. */
static void activations(const ml_layer *L, int r0, int r1, float *A) {
    int R = r1 - r0, n = L->n;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, R, n, L->d, 1.0f, L->pre + (size_t)r0 * L->d, L->d, L->W, n,
                0.0f, A, n);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < R; r++)
        for (int j = 0; j < n; j++) A[(size_t)r * n + j] = ml_layer_act(L, A[(size_t)r * n + j] + L->b[j]);
}

typedef struct {
    float best;      /* current example's activation */
    int64_t key;     /* its key row */
    int64_t ex;      /* its id */
} open_ex;

static void close_example(ml_selection *s, const open_ex *e, float thr, int cap) {
    if (e->ex < 0 || s->n >= cap || !(e->best >= thr)) return;
    s->example[s->n] = e->ex;
    s->row[s->n] = e->key;
    s->act[s->n] = e->best;
    s->n++;
}

void ml_select_examples(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel) {
    const int n = L->n, cap = o->max_examples;
    float *A = ml_malloc(sizeof(float) * (size_t)CHUNK_ROWS * n);
    float *mx = ml_malloc(sizeof(float) * n);
    if (L->max_act) {
        memcpy(mx, L->max_act, sizeof(float) * n);
    } else { /* pass 1: each neuron's maximum over the data */
        for (int j = 0; j < n; j++) mx[j] = -INFINITY;
        for (int r0 = 0; r0 < L->T; r0 += CHUNK_ROWS) {
            int r1 = r0 + CHUNK_ROWS < L->T ? r0 + CHUNK_ROWS : L->T;
            activations(L, r0, r1, A);
            for (int r = 0; r < r1 - r0; r++)
                for (int j = 0; j < n; j++) mx[j] = fmaxf(mx[j], A[(size_t)r * n + j]);
        }
    }
    open_ex *cur = ml_malloc(sizeof(open_ex) * n);
    float *thr = ml_malloc(sizeof(float) * n);
    for (int j = 0; j < n; j++) {
        sel[j].n = 0;
        sel[j].example = ml_malloc(sizeof(int64_t) * cap);
        sel[j].row = ml_malloc(sizeof(int64_t) * cap);
        sel[j].act = ml_malloc(sizeof(float) * cap);
        cur[j] = (open_ex){-INFINITY, -1, -1};
        thr[j] = mx[j] > 0 ? (float)(o->act_frac * mx[j]) : INFINITY;
    }
    /* pass 2: walk the examples in order */
    for (int r0 = 0; r0 < L->T; r0 += CHUNK_ROWS) {
        int r1 = r0 + CHUNK_ROWS < L->T ? r0 + CHUNK_ROWS : L->T;
        activations(L, r0, r1, A);
#pragma omp parallel for schedule(static)
        for (int j = 0; j < n; j++) {
            if (sel[j].n >= cap) continue;
            for (int r = r0; r < r1; r++) {
                int64_t ex = L->doc ? L->doc[r] : r;
                if (ex != cur[j].ex) {
                    close_example(&sel[j], &cur[j], thr[j], cap);
                    cur[j] = (open_ex){-INFINITY, -1, ex};
                }
                float a = A[(size_t)(r - r0) * n + j];
                if (a > cur[j].best) { cur[j].best = a; cur[j].key = r; }
            }
        }
    }
    for (int j = 0; j < n; j++) close_example(&sel[j], &cur[j], thr[j], cap);
    free(A); free(mx); free(cur); free(thr);
}
