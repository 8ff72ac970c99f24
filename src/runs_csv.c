/* OUTDIR/runs.csv: the header, and which runs an existing file holds. */
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/run_ids.h"
#include "monolab/runs_csv.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The results after the run's fields (config.h's ML_RUN_FIELDS). */
#define RESULT_COLUMNS                                                                                          \
    "final_loss,eval_loss,mono_neurons,mono_per_feature,mono_per_neuron,dead_neurons,bias_mono_mean,"          \
    "bias_poly_mean,diverged,seconds"

const char *ml_runs_csv_header(void) {
    static char hdr[1024];
    if (!hdr[0]) {
        size_t n = (size_t)snprintf(hdr, sizeof hdr, "run_id");
        for (int i = 0; i < ML_N_RUN_FIELDS; i++)
            if (ML_RUN_FIELDS[i].where & ML_RF_CSV)
                n += (size_t)snprintf(hdr + n, sizeof hdr - n, ",%s", ML_RUN_FIELDS[i].name);
        snprintf(hdr + n, sizeof hdr - n, ",%s\n", RESULT_COLUMNS);
    }
    return hdr;
}

void ml_runs_csv_scan(const char *path, ml_sweep_config *cfg, const ml_run_index *ix, unsigned char *done) {
    size_t len;
    char *buf = ml_read_file(path, &len);
    if (!buf) return;
    if (len > 0 && buf[len - 1] != '\n') {
        /* A process killed mid-append leaves a torn row: drop it. */
        char *nl = strrchr(buf, '\n');
        size_t keep = nl ? (size_t)(nl - buf) + 1 : 0;
        if (truncate(path, (off_t)keep)) ml_fatal("cannot repair torn last line of '%s'", path);
        buf[keep] = 0;
        len = keep;
        fprintf(stderr, "[monolab] dropped a torn last line from %s\n", path);
    }
    if (len == 0) { free(buf); return; }
    const char *hdr = ml_runs_csv_header();
    if (strncmp(buf, hdr, strlen(hdr)))
        ml_die("%s:1: header differs from this version's columns; resume into a new -o directory", path);
    int line = 1;
    for (char *p = buf + strlen(hdr); *p; line++) {
        char *nl = strchr(p, '\n');
        if (*p != 'r') ml_die("%s:%d: expected a run id like r000012 or r3f09a1c2b4d5", path, line + 1);
        int idx = ml_run_of_row(cfg, ix, p);
        if (idx < 0) ml_die("%s:%d: run %.*s is not in this config's grid", path, line + 1, (int)strcspn(p, ","), p);
        done[idx] = 1;
        p = nl + 1;
    }
    free(buf);
}

/* Rows of one group, in run order, appended with one write and one fsync. */
/* printf into buf at *n, within cap. */
static void add(char *buf, size_t cap, size_t *n, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void add(char *buf, size_t cap, size_t *n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (w < 0 || (size_t)w >= cap - *n) ml_fatal("internal: runs.csv row too long");
    *n += (size_t)w;
}

void ml_runs_csv_append(const char *csv, const ml_group *g, const ml_train_result *res) {
    size_t cap = 1024 * (size_t)g->G, n = 0;
    char *buf = ml_malloc(cap), val[64];
    for (int gi = 0; gi < g->G; gi++) {
        const ml_run *r = g->runs[gi];
        const ml_mono_stats *s = &res->mono[gi];
        add(buf, cap, &n, "%s", r->id);
        for (int i = 0; i < ML_N_RUN_FIELDS; i++)
            if (ML_RUN_FIELDS[i].where & ML_RF_CSV) {
                ml_run_field_format(r, &ML_RUN_FIELDS[i], val, sizeof val);
                add(buf, cap, &n, ",%s", val);
            }
        add(buf, cap, &n, ",%.9g,%.9g,%d,%.9g,%.9g,%d,%.9g,%.9g,%ld,%.3f\n", res->final_loss[gi], res->eval_loss[gi],
            s->mono_neurons, s->mono_per_feature, s->mono_per_neuron, s->dead_neurons, s->bias_mono_mean,
            s->bias_poly_mean, res->diverged[gi], res->seconds / g->G);
    }
    ml_append_sync(csv, buf, n);
    free(buf);
}
