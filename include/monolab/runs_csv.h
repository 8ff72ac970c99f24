/* OUTDIR/runs.csv of a sweep (src/runs_csv.c): its columns, its rows, and
 * what an existing file says is already done. */
#ifndef MONOLAB_RUNS_CSV_H
#define MONOLAB_RUNS_CSV_H
#include "monolab/group.h"
#include "monolab/train.h"

const char *ml_runs_csv_header(void);
/* Marks done[index] for every complete row of an existing runs.csv (the
 * runs of cfg, found by ix; a row of positional ids gives its run its id:
 * run_ids.h); drops a torn last line left by a killed process. Dies if the
 * header differs or a row is not a run of cfg. */
typedef struct ml_run_index ml_run_index;
void ml_runs_csv_scan(const char *path, ml_sweep_config *cfg, const ml_run_index *ix, unsigned char *done);

/* The rows of one trained group, in run order, appended with one write
 * and one fsync. */
void ml_runs_csv_append(const char *path, const ml_group *g, const ml_train_result *res);

#endif
