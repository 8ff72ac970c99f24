#include "monolab/train.h"
#include "monolab/common.h"
#include "monolab/philox.h"
#include "monolab/signals.h"
#include "monolab/testhook.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

double ml_schedule(ml_sched kind, int t_max, long t) {
    if (kind == SCHED_CONSTANT) return 1.0;
    return 0.5 * (1.0 + cos(M_PI * (double)t / (double)t_max));
}

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

void ml_train_group(const ml_backend *be, const ml_group *g, ml_train_result *res, ml_ckpt_cb ckpt,
                    ml_progress_cb progress, void *ctx) {
    const long steps = g->shape.steps;
    const int G = g->G, every = g->shape.log_every;
    double t0 = ml_now();
    memset(res, 0, sizeof *res);
    res->n_log = (int)((steps + every - 1) / every);
    res->log_step = ml_calloc((size_t)res->n_log, sizeof(long));
    res->log_loss = ml_calloc((size_t)res->n_log * G, sizeof(float));
    res->log_lr = ml_calloc((size_t)res->n_log * G, sizeof(float));
    res->final_loss = ml_calloc((size_t)G, sizeof(double));
    res->eval_loss = ml_calloc((size_t)G, sizeof(double));
    res->diverged = ml_calloc((size_t)G, sizeof(long));
    res->mono = ml_calloc((size_t)G, sizeof(ml_mono_stats));
    res->params = ml_malloc(sizeof(float) * G * g->n_param);
    double *loss = ml_calloc((size_t)G, sizeof(double));

    void *st = be->create(g);
    if (ckpt && ml_checkpoint_due(g->shape.checkpoints, 0, steps)) {
        be->params(st, g, res->params);
        ckpt(ctx, g, 0, res->params);
    }
    int row = 0;
    for (long t = 0; t < steps; t++) {
        if (ml_stop_signal()) { /* SIGINT/SIGTERM: stop at this step boundary */
            res->interrupted = 1;
            break;
        }
        const double sched = ml_schedule(g->shape.schedule, g->shape.t_max, t);
        const int decay_on = ml_decay_on(t, steps);
        if (be->train_step) {
            be->train_step(st, g, t, (float)sched, decay_on);
        } else {
            be->sample(st, g, ML_STREAM_TRAIN, (uint32_t)t);
            be->forward(st, g);
            be->backward(st, g, t);
            be->optimize(st, g, t, (float)sched, decay_on);
        }
        ml_test_point("step");
        if (t % every == 0) {
            be->status(st, g, loss, NULL);
            res->log_step[row] = t;
            for (int gi = 0; gi < G; gi++) {
                res->log_loss[(size_t)row * G + gi] = (float)loss[gi];
                res->log_lr[(size_t)row * G + gi] = (float)(g->lr[gi] * sched);
            }
            row++;
            if (progress) progress(ctx, g, t + 1);
        }
        if (ckpt && ml_checkpoint_due(g->shape.checkpoints, t + 1, steps)) {
            be->params(st, g, res->params);
            ckpt(ctx, g, t + 1, res->params);
        }
    }
    if (res->interrupted) { /* the caller discards this group */
        be->destroy(st);
        free(loss);
        return;
    }
    be->status(st, g, res->final_loss, res->diverged);
    eval_loss(be, st, g, res->eval_loss);
    be->params(st, g, res->params);
    float *S = ml_malloc(sizeof(float) * (size_t)G * g->k * g->N);
    be->sfa(st, g, S);
    for (int gi = 0; gi < G; gi++) {
        const float *b1 = res->params + (size_t)gi * g->n_param + g->off_b1;
        ml_mono_metric(S + (size_t)gi * g->k * g->N, b1, g->k, g->N, &res->mono[gi]);
        if (res->diverged[gi] >= 0) res->final_loss[gi] = NAN;
    }
    free(S);
    be->destroy(st);
    free(loss);
    res->seconds = ml_now() - t0;
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
