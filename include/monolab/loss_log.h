/* The loss logs of a sweep, OUTDIR/loss/RUN_ID.csv (src/loss_log.c). */
#ifndef MONOLAB_LOSS_LOG_H
#define MONOLAB_LOSS_LOG_H
#include "monolab/group.h"
#include "monolab/train.h"

/* One file per model of the group, each replaced atomically, with the
 * res->n_logged rows logged so far: readers see whole rows, a prefix of
 * the finished log. */
void ml_loss_log_write(const char *outdir, const ml_group *g, const ml_train_result *res);

#endif
