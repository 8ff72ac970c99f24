/* OUTDIR/runs.csv of a sweep (src/runs_csv.c): its columns, its rows, and
 * what an existing file says is already done. */
#ifndef MONOLAB_RUNS_CSV_H
#define MONOLAB_RUNS_CSV_H
#include "monolab/group.h"
#include "monolab/train.h"

const char *ml_runs_csv_header(void);
/* One complete row (len bytes, no newline) checked against the config: the
 * right number of fields, a run id of its grid spelled exactly, and every
 * run field as this config has it. Returns the run's index, or -1 with the
 * reason in why. */
int ml_runs_csv_row(const ml_sweep_config *cfg, const char *row, size_t len, char *why, size_t n);
/* Marks done[index] for every complete row of an existing runs.csv; drops a
 * torn last line left by a killed process. Exits 2 naming the line if the
 * header differs or a row fails ml_runs_csv_row. */
void ml_runs_csv_scan(const char *path, const ml_sweep_config *cfg, unsigned char *done);
/* Rewrites runs.csv (atomically) without the rows of runs marked in drop. */
void ml_runs_csv_drop(const char *path, const ml_sweep_config *cfg, const unsigned char *drop);

/* The rows of one trained group, in run order, appended with one write
 * and one fsync. */
void ml_runs_csv_append(const char *path, const ml_group *g, const ml_train_result *res);

#endif
