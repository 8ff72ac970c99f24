/* The group planner: which runs train together, and how many at a time. */
#include "monolab/common.h"
#include "monolab/plan.h"
#include "monolab/group.h"
#include <stdlib.h>

/* Runs join the first open group they can share shapes with, in grid order,
 * so the plan (and hence runs.csv order) is a pure function of the runs. */
int ml_plan_groups(const ml_run *const *runs, int n, size_t mem_budget, int max_g, const ml_run **order, int *starts) {
    int *bucket = ml_malloc(sizeof(int) * (size_t)(n ? n : 1));
    int n_b = 0;
    const ml_run **lead = ml_malloc(sizeof *lead * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) {
        int b = 0;
        while (b < n_b && !ml_runs_groupable(lead[b], runs[i])) b++;
        if (b == n_b) lead[n_b++] = runs[i];
        bucket[i] = b;
    }
    int pos = 0, n_groups = 0;
    for (int b = 0; b < n_b; b++) {
        size_t per = ml_group_bytes_per_model(lead[b]);
        if (per > mem_budget)
            ml_die("one model of run %s needs %.3g MB, more than the memory budget of %.3g MB (set MONOLAB_MEM_GB)",
                   lead[b]->id, per / 1e6, mem_budget / 1e6);
        size_t cap = mem_budget / per; /* in size_t: an unbounded budget must not overflow an int */
        if (cap > (size_t)max_g) cap = (size_t)max_g;
        size_t in_group = 0;
        for (int i = 0; i < n; i++) {
            if (bucket[i] != b) continue;
            if (in_group == 0) starts[n_groups++] = pos;
            order[pos++] = runs[i];
            if (++in_group == cap) in_group = 0;
        }
    }
    starts[n_groups] = pos;
    free(bucket);
    free(lead);
    return n_groups;
}

int ml_plan_waves(const ml_run *const *order, const int *starts, int n_groups, const int *width, int *waves) {
    int n_waves = 0, cap = 0;
    for (int gi = 0; gi < n_groups; gi++) {
        const ml_run *lead = n_waves ? order[starts[waves[n_waves - 1]]] : NULL, *r = order[starts[gi]];
        int size = n_waves ? gi - waves[n_waves - 1] : 0;
        int w = width[gi] > 0 ? width[gi] : 1;
        int fits = lead && lead->steps == r->steps && lead->log_every == r->log_every && size < cap && size < w;
        if (!fits) {
            waves[n_waves++] = gi;
            cap = w;
        } else if (w < cap) {
            cap = w;
        }
    }
    waves[n_waves] = n_groups;
    return n_waves;
}

double ml_run_step_flop(const ml_run *r) {
    return 2.0 * r->batch * r->k * (2.0 * r->m + 3.0 * ml_run_out_dim(r));
}

double ml_run_train_flop(const ml_run *r) { return ml_run_step_flop(r) * (double)r->steps; }
