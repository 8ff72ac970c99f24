#include "monolab/group.h"
#include "monolab/common.h"
#include "monolab/elementwise.h"
#include "monolab/model_init.h"
#include "monolab/philox.h"
#include <stdlib.h>
#include <string.h>

int ml_runs_groupable(const ml_run *a, const ml_run *b) {
    return a->task == b->task && a->N == b->N && a->m == b->m && a->k == b->k && a->act == b->act &&
           a->sampling == b->sampling && a->steps == b->steps && a->batch == b->batch &&
           a->optimizer == b->optimizer && a->schedule == b->schedule && a->t_max == b->t_max &&
           a->weight_decay == b->weight_decay && a->precision == b->precision &&
           a->log_every == b->log_every && a->eval_batch == b->eval_batch && a->checkpoints == b->checkpoints;
}

size_t ml_group_bytes_per_model(const ml_run *r) {
    size_t out = (size_t)ml_run_out_dim(r);
    size_t np = (size_t)r->k * r->m + r->k + out * r->k;
    size_t act = (size_t)r->batch * (r->m + 2 * out + 3 * (size_t)r->k);
    size_t emb = (size_t)r->N * r->m * (r->task == TASK_REPROJECTOR ? 2 : 1);
    size_t sfa = (size_t)r->k * r->N;
    size_t db1_part = (size_t)ml_db1_slabs(r->batch) * r->k; /* the two-stage bias gradient */
    return sizeof(float) * (5 * np + act + emb + sfa + db1_part + r->N);
}

ml_group *ml_group_create(const ml_run *const *runs, int G) {
    ml_group *g = ml_calloc(1, sizeof *g);
    const ml_run *r0 = runs[0];
    g->G = G;
    g->shape = *r0;
    g->N = r0->N;
    g->m = r0->m;
    g->k = r0->k;
    g->out = ml_run_out_dim(r0);
    g->B = r0->batch;
    g->off_W1 = 0;
    g->off_b1 = (size_t)g->k * g->m;
    g->off_W2 = g->off_b1 + g->k;
    g->n_param = g->off_W2 + (size_t)g->out * g->k;
    g->runs = ml_calloc((size_t)G, sizeof *g->runs);
    g->seed = ml_calloc((size_t)G, sizeof *g->seed);
    g->lr = ml_calloc((size_t)G, sizeof *g->lr);
    g->decay = ml_calloc((size_t)G, sizeof *g->decay);
    g->l1 = ml_calloc((size_t)G, sizeof *g->l1);
    g->feat_p = ml_calloc((size_t)G * g->N, sizeof *g->feat_p);
    g->Pt = ml_calloc((size_t)G * g->N * g->m, sizeof *g->Pt);
    if (r0->task == TASK_REPROJECTOR) g->Qt = ml_calloc((size_t)G * g->N * g->m, sizeof *g->Qt);
    g->init_params = ml_calloc((size_t)G * g->n_param, sizeof *g->init_params);
    for (int i = 0; i < G; i++) {
        const ml_run *r = runs[i];
        if (!ml_runs_groupable(r0, r)) ml_fatal("internal: run %s cannot join group of %s", r->id, r0->id);
        g->runs[i] = r;
        g->seed[i] = r->seed;
        g->lr[i] = (float)r->lr;
        g->decay[i] = (float)r->decay;
        g->l1[i] = (float)r->l1;
        ml_feature_probs(r, g->feat_p + (size_t)i * g->N);
        ml_embedder(r->seed, ML_STREAM_EMBED_P, g->N, g->m, g->Pt + (size_t)i * g->N * g->m);
        if (g->Qt) ml_embedder(r->seed, ML_STREAM_EMBED_Q, g->N, g->m, g->Qt + (size_t)i * g->N * g->m);
        ml_init_params(r, g->init_params + (size_t)i * g->n_param);
    }
    return g;
}

void ml_group_free(ml_group *g) {
    if (!g) return;
    free(g->runs);
    free(g->seed);
    free(g->lr);
    free(g->decay);
    free(g->l1);
    free(g->feat_p);
    free(g->Pt);
    free(g->Qt);
    free(g->init_params);
    free(g);
}
