/* OUTDIR/loss/RUN_ID.csv: step, the batch's squared-error loss and the
 * scheduled lr, every log_every steps: the rows so far while the group
 * trains, all of them when it is done. */
#include "monolab/loss_log.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include <stdio.h>

void ml_loss_log_write(const char *outdir, const ml_group *g, const ml_train_result *res) {
    for (int gi = 0; gi < g->G; gi++) {
        char path[ML_PATH_MAX];
        snprintf(path, sizeof path, "%s/loss/%s.csv", outdir, g->runs[gi]->id);
        ml_atomic_file f;
        ml_atomic_open(&f, path);
        ml_atomic_printf(&f, "step,loss,lr\n");
        for (int r = 0; r < res->n_logged; r++)
            ml_atomic_printf(&f, "%ld,%.9g,%.9g\n", res->log_step[r], res->log_loss[(size_t)r * g->G + gi],
                             res->log_lr[(size_t)r * g->G + gi]);
        ml_atomic_commit(&f);
    }
}
