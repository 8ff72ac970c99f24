/* Shared fixtures for the C tests: a small run description. */
#ifndef MONOLAB_TEST_HELPERS_H
#define MONOLAB_TEST_HELPERS_H
#include "monolab/config.h"
#include <stdio.h>
#include <string.h>

static inline ml_run test_run(ml_task task, ml_act act, int N, int m, int k, int B) {
    ml_run r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "r000000");
    r.task = task;
    r.act = act;
    r.N = N;
    r.m = m;
    r.k = k;
    r.batch = B;
    r.seed = 1;
    r.bias_offset = -0.5;
    r.sampling = SAMPLE_UNIFORM;
    r.eps = 0.125;
    r.steps = 64;
    r.lr = 0.01;
    r.optimizer = OPT_LAMB;
    r.schedule = SCHED_COSINE;
    r.t_max = 16;
    r.decay = 0.03;
    r.weight_decay = 0.01;
    r.log_every = 16;
    r.eval_batch = 2 * B;
    r.checkpoints = CKPT_NONE;
    return r;
}
#endif
