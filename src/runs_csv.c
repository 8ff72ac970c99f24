/* OUTDIR/runs.csv: the header, and which runs an existing file holds. */
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/runs_csv.h"
#include <errno.h>
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

int ml_runs_csv_row(const ml_sweep_config *cfg, const char *row, size_t len, char *why, size_t n) {
    int want = 1;
    for (const char *h = ml_runs_csv_header(); *h; h++) want += *h == ',';
    int got = 1;
    for (size_t c = 0; c < len; c++) got += row[c] == ',';
    if (got != want) {
        snprintf(why, n, "has %d fields, a row has %d (a damaged row)", got, want);
        return -1;
    }
    size_t id_len = strcspn(row, ",");
    char *end;
    long idx = row[0] == 'r' ? strtol(row + 1, &end, 10) : -1;
    /* the id exactly as the grid names it: r000012, not rZZZ nor r12 */
    if (idx < 0 || idx >= cfg->n_runs || strlen(cfg->runs[idx].id) != id_len || strncmp(row, cfg->runs[idx].id, id_len)) {
        snprintf(why, n, "run id '%.*s' is not a run of this config's grid", (int)(id_len < 24 ? id_len : 24), row);
        return -1;
    }
    /* Every run field as this config would write it: a row trained with
     * another config (a deleted or swapped config.yaml) is not this run. */
    const char *f = row + id_len + 1;
    char val[64];
    for (int i = 0; i < ML_N_RUN_FIELDS; i++) {
        if (!(ML_RUN_FIELDS[i].where & ML_RF_CSV)) continue;
        size_t fl = strcspn(f, ",\n");
        ml_run_field_format(&cfg->runs[idx], &ML_RUN_FIELDS[i], val, sizeof val);
        if (strlen(val) != fl || strncmp(f, val, fl)) {
            snprintf(why, n, "run %s has %s=%.*s, this config has %s", cfg->runs[idx].id, ML_RUN_FIELDS[i].name,
                     (int)(fl < 40 ? fl : 40), f, val);
            return -1;
        }
        f += fl + 1;
    }
    return (int)idx;
}

void ml_runs_csv_scan(const char *path, const ml_sweep_config *cfg, unsigned char *done) {
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
    char why[256];
    for (char *p = buf + strlen(hdr); *p; line++) {
        char *nl = strchr(p, '\n');
        int idx = ml_runs_csv_row(cfg, p, (size_t)(nl - p), why, sizeof why);
        if (idx < 0) ml_die("%s:%d: %s; remove that line to train the run again, or use another -o", path, line + 1, why);
        done[idx] = 1;
        p = nl + 1;
    }
    free(buf);
}

void ml_runs_csv_drop(const char *path, const ml_sweep_config *cfg, const unsigned char *drop) {
    size_t len;
    char *buf = ml_read_file(path, &len);
    if (!buf) ml_io_die("cannot read", path, errno);
    ml_atomic_file f;
    ml_atomic_open(&f, path);
    char why[256];
    for (char *p = buf, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl) break; /* scan already dropped a torn row */
        int idx = p == buf ? -1 : ml_runs_csv_row(cfg, p, (size_t)(nl - p), why, sizeof why);
        if (idx < 0 || !drop[idx]) ml_atomic_write(&f, p, (size_t)(nl - p + 1));
    }
    ml_atomic_commit(&f);
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
