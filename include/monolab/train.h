/* The training loop, written once above the backends (docs/science.md §1.7-§1.8). */
#ifndef MONOLAB_TRAIN_H
#define MONOLAB_TRAIN_H
#include "monolab/backend.h"
#include "monolab/elementwise.h"
#include "monolab/metrics.h"

/* The schedule and the decay window are elementwise.h's ml_schedule and
 * ml_decay_on, shared with the CUDA backend's step table. */

/* True if a checkpoint is due after `done` completed steps (0 = init). */
int ml_checkpoint_due(ml_ckpt policy, long done, long steps);

typedef struct {
    int n_log;          /* rows of the loss log */
    int n_logged;       /* rows filled so far (n_log once the group is done) */
    double live_written;/* when the sweep last wrote the live loss logs (src/sweep.c) */
    long *log_step;     /* [n_log] */
    float *log_loss;    /* [n_log][G] */
    float *log_lr;      /* [n_log][G] */
    double *final_loss; /* [G] loss of the last training batch */
    double *eval_loss;  /* [G] held-out squared error (docs/science.md §1.6 first term) */
    long *diverged;     /* [G] step at which the model froze, or -1 */
    ml_mono_stats *mono;/* [G] */
    float *params;      /* [G][n_param] final */
    double seconds;     /* wall time of the whole group */
    int interrupted;    /* stopped early by SIGINT/SIGTERM: results incomplete */
} ml_train_result;

/* Called with the parameters after `done` steps whenever a checkpoint is due. */
typedef void (*ml_ckpt_cb)(void *ctx, const ml_group *g, long done, const float *params);
/* Called every log interval with the number of steps done; res holds the
 * loss-log rows so far (res->n_logged). */
typedef void (*ml_progress_cb)(void *ctx, const ml_group *g, ml_train_result *res, long done);

void ml_train_group(const ml_backend *be, const ml_group *g, ml_train_result *res, ml_ckpt_cb ckpt,
                    ml_progress_cb progress, void *ctx);
/* Train n groups side by side, into res[n]: step t of every group is
 * issued before step t + 1 of any, so a backend whose calls only enqueue
 * work runs them concurrently. Each group's results are the same bits as
 * ml_train_group's. On SIGINT/SIGTERM every res[i].interrupted is set and
 * none is complete. */
void ml_train_groups(const ml_backend *be, const ml_group *const *gs, int n, ml_train_result *res, ml_ckpt_cb ckpt,
                     ml_progress_cb progress, void *ctx);
void ml_train_result_free(ml_train_result *res);

#endif
