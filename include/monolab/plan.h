/* Group planning (src/plan.c): which runs of a sweep train together, and in
 * groups of what size. */
#ifndef MONOLAB_PLAN_H
#define MONOLAB_PLAN_H
#include "monolab/config.h"
#include <stddef.h>

/* runs: the runs still to do, in grid order. Fills order[] with the runs
 * regrouped and starts[] (n_groups + 1 entries) with each group's first
 * position; returns the number of groups. A group never holds more models
 * than fit in mem_budget bytes, nor more than max_g. */
int ml_plan_groups(const ml_run *const *runs, int n, size_t mem_budget, int max_g, const ml_run **order, int *starts);

/* Waves: consecutive groups of a plan that train side by side
 * (ml_train_groups). width[gi] is how many groups group gi may share a wave
 * with, itself included. A group joins the open wave when the wave has the
 * same steps and log interval as it (they advance in lockstep) and fewer
 * members than the width of every member, the newcomer included. Fills
 * waves[] with each wave's first group (n_waves + 1 entries) and returns
 * n_waves. Commit order is untouched: a wave's groups are written in plan
 * order after the whole wave has finished. */
int ml_plan_waves(const ml_run *const *order, const int *starts, int n_groups, const int *width, int *waves);

/* FLOP of one training step of a run (forward and backward GEMMs:
 * 2·B·k·(2m + 3·out)), and of its whole training. */
double ml_run_step_flop(const ml_run *r);
double ml_run_train_flop(const ml_run *r);

#endif
