/* Whether a finished run's files are all there (see run_outputs.h). */
#include "monolab/run_outputs.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/runs_csv.h"
#include "monolab/train.h"
#include <stdio.h>
#include <stdlib.h>

int ml_run_output_missing(const char *dir, const ml_run *r, char *missing, size_t n) {
    char path[ML_PATH_MAX2];
    snprintf(missing, n, "loss/%s.csv", r->id);
    snprintf(path, sizeof path, "%s/%s", dir, missing);
    if (!ml_file_exists(path)) return 1;
    /* The checkpoint times are 0, the powers of two and the last step:
     * ml_checkpoint_due says which of them the run's policy keeps. */
    for (long done = 0;; done = done ? 2 * done : 1) {
        if (done > r->steps) done = r->steps;
        if (ml_checkpoint_due(r->checkpoints, done, r->steps)) {
            snprintf(missing, n, "ckpt/%s/step_%06ld.safetensors", r->id, done);
            snprintf(path, sizeof path, "%s/%s", dir, missing);
            if (!ml_file_exists(path)) return 1;
        }
        if (done == r->steps) return 0;
    }
}

void ml_resume_check_outputs(const char *outdir, const char *csv, const ml_sweep_config *cfg, unsigned char *done) {
    unsigned char *drop = ml_calloc((size_t)cfg->n_runs + 1, 1);
    int n_drop = 0;
    char missing[ML_PATH_MAX];
    for (int i = 0; i < cfg->n_runs; i++)
        if (done[i] && ml_run_output_missing(outdir, &cfg->runs[i], missing, sizeof missing)) {
            fprintf(stderr, "[monolab] resume: %s has a row but no %s; training it again\n", cfg->runs[i].id, missing);
            drop[i] = 1, done[i] = 0, n_drop++;
        }
    if (n_drop) ml_runs_csv_drop(csv, cfg, drop);
    free(drop);
}
