/* What the explorer shows about a neuron beyond embed's outputs: its
 * maximum activation over the whole input (the histogram's reference) and
 * the key tokens of its examples, counted per cluster and per neuron (the
 * tabs, the neuron table, token search). */
#include "monolab/common.h"
#include "monolab/elementwise.h"
#include "monolab/explore.h"
#include <cblas.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>

float *ml_explore_neuron_max(const ml_layer *L) {
    float *mx = ml_malloc(sizeof(float) * (size_t)L->n);
    if (L->max_act) { /* the reference maxima embed used */
        memcpy(mx, L->max_act, sizeof(float) * (size_t)L->n);
        return mx;
    }
    /* max over rows of the pre-activation, by blocks of rows, then phi of it:
     * the maximum activation wherever phi increases above its minimum, as
     * relu and the gelus do (a neuron whose maximum is not positive has no
     * examples, so nothing is compared with it) */
    enum { ROWS = 256 };
    float *z = ml_malloc(sizeof(float) * ROWS * (size_t)L->n);
    for (int j = 0; j < L->n; j++) mx[j] = -FLT_MAX;
    for (int r0 = 0; r0 < L->T; r0 += ROWS) {
        int m = L->T - r0 < ROWS ? L->T - r0 : ROWS;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, L->n, L->d, 1.0f, L->pre + (size_t)r0 * L->d, L->d,
                    L->W, L->n, 0.0f, z, L->n);
        for (int r = 0; r < m; r++)
            for (int j = 0; j < L->n; j++)
                if (z[(size_t)r * L->n + j] > mx[j]) mx[j] = z[(size_t)r * L->n + j];
    }
    free(z);
    for (int j = 0; j < L->n; j++) mx[j] = L->T ? ml_act_any(L->act, mx[j] + L->b[j]) : 0;
    return mx;
}

/* The key token of example a (an index into examples.csv's rows). */
static int64_t key_token(const ml_embed_out *e, const ml_explore_src *s, int64_t a) {
    int64_t r = e->ex_row[a];
    return r >= 0 && r < s->L.T ? s->tokens[r] : -1;
}

int ml_explore_top_keys(const ml_embed_out *e, const ml_explore_src *s, int j, int cluster, int k, int64_t *ids,
                        int *counts) {
    if (!s->tokens) return 0;
    int64_t f = e->ex_first[j], n = e->ex_first[j + 1] - f;
    int64_t *tok = ml_malloc(sizeof(int64_t) * (size_t)(n + 1));
    int *cnt = ml_calloc((size_t)n + 1, sizeof(int)), m = 0;
    for (int64_t a = f; a < f + n; a++) { /* at most max_examples per neuron: a linear scan per token is cheap */
        if (e->ex_cluster[a] != cluster) continue;
        int64_t t = key_token(e, s, a);
        int i = 0;
        while (i < m && tok[i] != t) i++;
        if (i == m) tok[m++] = t;
        cnt[i]++;
    }
    int got = 0;
    for (; got < k && got < m; got++) { /* selection of the k largest; ties: first seen (dataset order) */
        int best = got;
        for (int i = got + 1; i < m; i++)
            if (cnt[i] > cnt[best]) best = i;
        int64_t tt = tok[best];
        int tc = cnt[best];
        memmove(tok + got + 1, tok + got, sizeof(int64_t) * (size_t)(best - got));
        memmove(cnt + got + 1, cnt + got, sizeof(int) * (size_t)(best - got));
        ids[got] = tok[got] = tt;
        counts[got] = cnt[got] = tc;
    }
    free(tok);
    free(cnt);
    return got;
}

static int by_token(const void *pa, const void *pb) {
    const ml_explore_key *a = pa, *b = pb;
    if (a->token != b->token) return a->token < b->token ? -1 : 1;
    if (a->count != b->count) return b->count - a->count; /* most examples first */
    if (a->neuron != b->neuron) return a->neuron - b->neuron;
    return a->cluster - b->cluster;
}

ml_explore_key *ml_explore_key_list(const ml_embed_out *e, const ml_explore_src *s, int64_t *len) {
    int64_t cap = e->ex_first[e->n] + 1, n = 0;
    ml_explore_key *out = ml_malloc(sizeof *out * (size_t)cap);
    if (s->tokens) {
        for (int j = 0; j < e->n; j++) {
            int nc = (int)(e->cl_first[j + 1] - e->cl_first[j]);
            int64_t ex = e->ex_first[j + 1] - e->ex_first[j];
            int64_t *tid = ml_malloc(sizeof(int64_t) * (size_t)(ex + 1));
            int *cnt = ml_malloc(sizeof(int) * (size_t)(ex + 1));
            for (int c = 0; c < nc; c++) {
                int m = ml_explore_top_keys(e, s, j, c, (int)ex, tid, cnt);
                for (int i = 0; i < m; i++)
                    if (tid[i] >= 0) out[n++] = (ml_explore_key){tid[i], j, c, cnt[i]};
            }
            free(tid);
            free(cnt);
        }
    }
    qsort(out, (size_t)n, sizeof *out, by_token);
    *len = n;
    return out;
}
