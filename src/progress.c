#include "monolab/progress.h"
#include "monolab/common.h"
#include <stdio.h>
#include <unistd.h>

/* Whether the live line is on the terminal without its newline: a message
 * printed then must first end it (ml_progress_own_line). Process-wide, as
 * stderr is. */
static int line_open;

void ml_progress_own_line(void) {
    if (line_open) fputc('\n', stderr);
    line_open = 0;
}

void ml_progress_init(ml_progress *p, int runs_total, int groups_total, double work_total) {
    *p = (ml_progress){0};
    p->tty = isatty(fileno(stderr));
    p->runs_total = runs_total;
    p->groups_total = groups_total;
    p->work_total = work_total;
    p->t_start = ml_now();
}

void ml_progress_group_begin(ml_progress *p, int G, double work_per_step) {
    p->group_G = G;
    p->group_work_per_step = work_per_step;
    p->group_steps_done = 0;
    p->t_group = ml_now();
}

void ml_format_hms(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e8) { snprintf(buf, n, "?"); return; }
    long t = (long)(s + 0.5);
    snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
}

void ml_progress_steps(ml_progress *p, long steps_done) {
    p->group_steps_done = steps_done;
    if (!p->tty) return;
    double now = ml_now();
    if (now - p->t_last_draw < 0.25) return;
    p->t_last_draw = now;
    double done = p->work_done + p->group_work_per_step * steps_done;
    double el = now - p->t_start, ge = now - p->t_group;
    double rate = ge > 0 ? p->group_G * steps_done / ge : 0;
    char eta[32];
    ml_format_hms(eta, sizeof eta, done > 0 ? el * (p->work_total - done) / done : -1);
    fprintf(stderr, "\r\033[K[monolab] runs %d/%d  group %d/%d  %.0f model-steps/s  ETA %s", p->runs_done,
            p->runs_total, p->groups_done + 1, p->groups_total, rate, eta);
    fflush(stderr);
    line_open = 1;
}

void ml_progress_group_end(ml_progress *p, int n_groups, const char *desc) {
    double now = ml_now(), ge = now - p->t_group;
    p->work_done += p->group_work_per_step * p->group_steps_done;
    p->runs_done += p->group_G;
    p->groups_done += n_groups;
    if (p->tty) fprintf(stderr, "\r\033[K");
    line_open = 0;
    char which[64];
    if (n_groups == 1) snprintf(which, sizeof which, "group %d/%d", p->groups_done, p->groups_total);
    else snprintf(which, sizeof which, "groups %d-%d/%d side by side", p->groups_done - n_groups + 1, p->groups_done,
                  p->groups_total);
    fprintf(stderr, "[monolab] %s done: %s, %d runs in %.1f s (%.0f model-steps/s); runs %d/%d\n", which, desc,
            p->group_G, ge, ge > 0 ? p->group_G * p->group_steps_done / ge : 0.0, p->runs_done, p->runs_total);
}

void ml_progress_finish(ml_progress *p) {
    fprintf(stderr, "[monolab] %d runs in %.1f s\n", p->runs_done, ml_now() - p->t_start);
}
