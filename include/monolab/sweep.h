/* `monolab sweep`: plan groups, train them on a backend, write the DESIGN
 * output contract (config.yaml, runs.csv, loss/, ckpt/). */
#ifndef MONOLAB_SWEEP_H
#define MONOLAB_SWEEP_H
#include "monolab/backend.h"
#include "monolab/config.h"

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

#endif
