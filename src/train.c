#include "monolab/train.h"
#include "monolab/common.h"
#include "monolab/philox.h"
#include "monolab/signals.h"
#include "monolab/testhook.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

int ml_checkpoint_due(ml_ckpt policy, long done, long steps) {
    if (policy == CKPT_NONE) return 0;
    if (done == steps) return 1;
    if (policy == CKPT_FINAL) return 0;
    return done == 0 || (done & (done - 1)) == 0; /* 0 and powers of two */
}

/* Held-out loss over ceil(eval_batch / B) batches from the eval stream. */
static void eval_loss(const ml_backend *be, void *st, const ml_group *g, double *out) {
    int chunks = (g->shape.eval_batch + g->B - 1) / g->B;
    double *part = ml_calloc((size_t)g->G, sizeof *part);
    for (int gi = 0; gi < g->G; gi++) out[gi] = 0;
    for (int c = 0; c < chunks; c++) {
        be->sample(st, g, ML_STREAM_EVAL, (uint32_t)c);
        be->forward(st, g);
        be->mse(st, g, part);
        for (int gi = 0; gi < g->G; gi++) out[gi] += part[gi] / chunks;
    }
    free(part);
}

/* One group's share of a side-by-side run: its backend state, the loss
 * read-back buffer and the next row of its loss log. */
typedef struct {
    void *st;
    double *loss;
    int row;
} lane;

static void result_alloc(const ml_group *g, ml_train_result *res) {
    const int G = g->G, every = g->shape.log_every;
    memset(res, 0, sizeof *res);
    res->n_log = (int)((g->shape.steps + every - 1) / every);
    res->log_step = ml_calloc((size_t)res->n_log, sizeof(long));
    res->log_loss = ml_calloc((size_t)res->n_log * G, sizeof(float));
    res->log_lr = ml_calloc((size_t)res->n_log * G, sizeof(float));
    res->final_loss = ml_calloc((size_t)G, sizeof(double));
    res->eval_loss = ml_calloc((size_t)G, sizeof(double));
    res->diverged = ml_calloc((size_t)G, sizeof(long));
    res->mono = ml_calloc((size_t)G, sizeof(ml_mono_stats));
    res->params = ml_malloc(sizeof(float) * G * g->n_param);
}

/* Step t of one group, issued (on an asynchronous backend it may still
 * be running when this returns). */
static void issue_step(const ml_backend *be, const ml_group *g, lane *ln, long t) {
    const double sched = ml_schedule(g->shape.schedule, g->shape.t_max, t);
    const int decay_on = ml_decay_on(t, g->shape.steps);
    if (be->train_step) {
        be->train_step(ln->st, g, t, (float)sched, decay_on);
    } else {
        be->sample(ln->st, g, ML_STREAM_TRAIN, (uint32_t)t);
        be->forward(ln->st, g);
        be->backward(ln->st, g, t);
        be->optimize(ln->st, g, t, (float)sched, decay_on);
    }
    ml_test_point("step");
}

/* After step t: the loss-log row, progress and checkpoint when due (each
 * reads back from the backend, which waits for that group's step). */
static void after_step(const ml_backend *be, const ml_group *g, lane *ln, ml_train_result *res, long t,
                       ml_ckpt_cb ckpt, ml_progress_cb progress, void *ctx) {
    if (t % g->shape.log_every == 0) {
        const double sched = ml_schedule(g->shape.schedule, g->shape.t_max, t);
        be->status(ln->st, g, ln->loss, NULL);
        res->log_step[ln->row] = t;
        for (int gi = 0; gi < g->G; gi++) {
            res->log_loss[(size_t)ln->row * g->G + gi] = (float)ln->loss[gi];
            res->log_lr[(size_t)ln->row * g->G + gi] = (float)(g->lr[gi] * sched);
        }
        res->n_logged = ++ln->row;
        if (progress) progress(ctx, g, res, t + 1);
    }
    if (ckpt && ml_checkpoint_due(g->shape.checkpoints, t + 1, g->shape.steps)) {
        be->params(ln->st, g, res->params);
        ckpt(ctx, g, t + 1, res->params);
    }
}

/* After the last step: final loss, freeze steps, eval loss, parameters and
 * the monosemanticity metric. */
static void group_finish(const ml_backend *be, const ml_group *g, lane *ln, ml_train_result *res) {
    const int G = g->G;
    be->status(ln->st, g, res->final_loss, res->diverged);
    eval_loss(be, ln->st, g, res->eval_loss);
    be->params(ln->st, g, res->params);
    float *S = ml_malloc(sizeof(float) * (size_t)G * g->k * g->N);
    be->sfa(ln->st, g, S);
    for (int gi = 0; gi < G; gi++) {
        const float *b1 = res->params + (size_t)gi * g->n_param + g->off_b1;
        ml_mono_metric(S + (size_t)gi * g->k * g->N, b1, g->k, g->N, &res->mono[gi]);
        if (res->diverged[gi] >= 0) res->final_loss[gi] = NAN;
    }
    free(S);
}

/* Step t is issued for every group before step t + 1 of any: on a backend
 * whose calls only enqueue work (the CUDA backend, one stream per group
 * state), the groups then run concurrently on the device. Each group's
 * arithmetic touches only its own state, so its results are the same bits
 * as when it trains alone; only the interleaving of host calls changes. */
void ml_train_groups(const ml_backend *be, const ml_group *const *gs, int n, ml_train_result *res, ml_ckpt_cb ckpt,
                     ml_progress_cb progress, void *ctx) {
    double t0 = ml_now();
    long max_steps = 0;
    lane *ln = ml_calloc((size_t)n, sizeof *ln);
    for (int i = 0; i < n; i++) {
        result_alloc(gs[i], &res[i]);
        ln[i].loss = ml_calloc((size_t)gs[i]->G, sizeof(double));
        ln[i].st = be->create(gs[i]);
        if (gs[i]->shape.steps > max_steps) max_steps = gs[i]->shape.steps;
        if (ckpt && ml_checkpoint_due(gs[i]->shape.checkpoints, 0, gs[i]->shape.steps)) {
            be->params(ln[i].st, gs[i], res[i].params);
            ckpt(ctx, gs[i], 0, res[i].params);
        }
    }
    int interrupted = 0;
    for (long t = 0; t < max_steps; t++) {
        if (ml_stop_signal()) { /* SIGINT/SIGTERM: stop at this step boundary */
            interrupted = 1;
            break;
        }
        /* every group's step first, then the read-backs: a read-back waits
         * for its own group only, and the others' steps are already queued */
        for (int i = 0; i < n; i++)
            if (t < gs[i]->shape.steps) issue_step(be, gs[i], &ln[i], t);
        for (int i = 0; i < n; i++)
            if (t < gs[i]->shape.steps) after_step(be, gs[i], &ln[i], &res[i], t, ckpt, progress, ctx);
    }
    int wave_G = 0;
    for (int i = 0; i < n; i++) {
        res[i].interrupted = interrupted; /* the caller discards these groups */
        if (!interrupted) group_finish(be, gs[i], &ln[i], &res[i]);
        be->destroy(ln[i].st);
        free(ln[i].loss);
        wave_G += gs[i]->G;
    }
    /* Groups side by side share the wall time: each is charged its models'
     * part, so runs.csv's seconds per run sum to the time spent. */
    const double wall = ml_now() - t0;
    for (int i = 0; i < n; i++) res[i].seconds = wall * gs[i]->G / wave_G;
    free(ln);
}

void ml_train_group(const ml_backend *be, const ml_group *g, ml_train_result *res, ml_ckpt_cb ckpt,
                    ml_progress_cb progress, void *ctx) {
    ml_train_groups(be, &g, 1, res, ckpt, progress, ctx);
}

void ml_train_result_free(ml_train_result *res) {
    free(res->log_step);
    free(res->log_loss);
    free(res->log_lr);
    free(res->final_loss);
    free(res->eval_loss);
    free(res->diverged);
    free(res->mono);
    free(res->params);
    memset(res, 0, sizeof *res);
}
