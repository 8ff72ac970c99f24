/* `monolab sweep`: plan groups, train them on a backend, write the DESIGN
 * output contract (config.yaml, runs.csv, loss/, ckpt/). */
#ifndef MONOLAB_SWEEP_H
#define MONOLAB_SWEEP_H
#include "monolab/backend.h"
#include "monolab/config.h"
#include <stddef.h>

typedef struct {
    const char *config_path;
    int n_over;
    char **overrides;
    const char *outdir;
    const ml_backend *backend;
    int resume;
    int dry_run; /* print the plan, write nothing */
} ml_sweep_opts;

void ml_sweep_run(const ml_sweep_opts *o);

/* Group planning. runs: the runs still to do, in grid order. Fills order[]
 * with the runs regrouped and starts[] (n_groups + 1 entries) with each
 * group's first position; returns the number of groups. A group never
 * holds more models than fit in mem_budget bytes, nor more than max_g. */
int ml_plan_groups(const ml_run *const *runs, int n, size_t mem_budget, int max_g, const ml_run **order, int *starts);

/* runs.csv */
const char *ml_runs_csv_header(void);
/* Marks done[index] for every complete row of an existing runs.csv; drops a
 * torn last line left by a killed process. Dies if the header differs. */
void ml_runs_csv_scan(const char *path, int n_runs, unsigned char *done);

#endif
