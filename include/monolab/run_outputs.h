/* The files a finished run leaves beside its runs.csv row (src/run_outputs.c):
 * its loss log and the checkpoints its policy asks for. A row without them
 * is not a finished run: --resume trains it again, merge refuses it. */
#ifndef MONOLAB_RUN_OUTPUTS_H
#define MONOLAB_RUN_OUTPUTS_H
#include "monolab/config.h"
#include <stddef.h>

/* 0 if every file of run r is in folder dir; else 1, with the first
 * missing one (relative to dir) in missing. */
int ml_run_output_missing(const char *dir, const ml_run *r, char *missing, size_t n);

/* --resume: clears done[] for finished runs whose files are gone and drops
 * their rows from csv, so they train again. */
void ml_resume_check_outputs(const char *outdir, const char *csv, const ml_sweep_config *cfg, unsigned char *done);

#endif
