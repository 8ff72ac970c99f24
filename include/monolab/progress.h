/* One progress line on stderr: runs done / total, model-steps/s, ETA.
 * Redrawn in place on a terminal; otherwise silent except one line per
 * finished group, so logs stay readable. */
#ifndef MONOLAB_PROGRESS_H
#define MONOLAB_PROGRESS_H
#include <stddef.h>

typedef struct {
    int tty;
    int runs_total, runs_done;
    int groups_total, groups_done;
    double work_total, work_done; /* in FLOPs, so ETA weighs big models right */
    double group_work_per_step;   /* current group, all models */
    long group_steps_done;
    int group_G;
    double t_start, t_last_draw, t_group;
} ml_progress;

void ml_progress_init(ml_progress *p, int runs_total, int groups_total, double work_total);
void ml_progress_group_begin(ml_progress *p, int G, double work_per_step);
void ml_progress_steps(ml_progress *p, long steps_done);
/* The group begun last (or the n_groups that trained side by side, begun
 * as one with their models and work summed) is done. desc: a short
 * description, e.g. "k=256 x16". */
void ml_progress_group_end(ml_progress *p, int n_groups, const char *desc);
void ml_progress_finish(ml_progress *p);
/* Any other message while the live line may be drawn calls this first, so
 * that it starts on its own line instead of after the progress text. */
void ml_progress_own_line(void);
/* s seconds as "h:mm:ss" ("?" when negative or absurd). */
void ml_format_hms(char *buf, size_t n, double s);

#endif
