/* Run ids from settings (include/monolab/run_ids.h). */
#include "monolab/run_ids.h"
#include "monolab/common.h"
#include "monolab/strbuf.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A run's settings as "name=value;..." over every field that is a config
 * key, and the seed: the text both ids and messages are made from. */
static void settings(const ml_run *r, ml_sbuf *b, int axes_only_csv) {
    char val[64];
    for (int i = 0; i < ML_N_RUN_FIELDS; i++) {
        const ml_run_field *f = &ML_RUN_FIELDS[i];
        if (axes_only_csv ? !(f->where & ML_RF_CSV) : (!f->path && i)) continue; /* i == 0: the seed */
        ml_run_field_format(r, f, val, sizeof val);
        if (axes_only_csv) ml_sb_printf(b, "%s%s", b->n ? "," : "", val);
        else ml_sb_printf(b, "%s=%s;", f->name, val);
    }
}

void ml_run_id_make(ml_run *r) {
    ml_sbuf b = {0};
    settings(r, &b, 0);
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then splitmix64's finaliser to spread the bits */
    for (size_t i = 0; i < b.n; i++) h = (h ^ (unsigned char)b.p[i]) * 1099511628211ULL;
    h ^= h >> 30, h *= 0xbf58476d1ce4e5b9ULL, h ^= h >> 27, h *= 0x94d049bb133111ebULL, h ^= h >> 31;
    /* 48 bits: a chance in ~10^5 of any clash among a million runs, and
     * one within a sweep is refused (ml_run_index_check_unique) */
    snprintf(r->id, sizeof r->id, "r%012llx", (unsigned long long)(h >> 16));
    free(b.p);
}

struct ml_run_index {
    int n;
    const ml_sweep_config *cfg;
    char (*id)[24];  /* the runs' ids when indexed: a run that takes a row's positional id stays findable */
    int *by_id;      /* run indices sorted by id */
    char **csv;      /* each run's settings columns as runs.csv writes them, made on first need */
    int *by_csv;
};

static const ml_run_index *sort_ix;
static int cmp_id(const void *a, const void *b) { return strcmp(sort_ix->id[*(const int *)a], sort_ix->id[*(const int *)b]); }

ml_run_index *ml_run_index_new(const ml_sweep_config *cfg) {
    ml_run_index *ix = ml_calloc(1, sizeof *ix);
    ix->n = cfg->n_runs;
    ix->cfg = cfg;
    ix->by_id = ml_malloc(sizeof(int) * (size_t)(ix->n + 1));
    ix->id = ml_malloc(sizeof *ix->id * (size_t)(ix->n + 1));
    for (int i = 0; i < ix->n; i++) ix->by_id[i] = i, memcpy(ix->id[i], cfg->runs[i].id, sizeof ix->id[i]);
    sort_ix = ix;
    qsort(ix->by_id, (size_t)ix->n, sizeof(int), cmp_id);
    return ix;
}

void ml_run_index_free(ml_run_index *ix) {
    if (!ix) return;
    for (int i = 0; ix->csv && i < ix->n; i++) free(ix->csv[i]);
    free(ix->csv);
    free(ix->by_csv);
    free(ix->by_id);
    free(ix->id);
    free(ix);
}

int ml_run_index_find(const ml_run_index *ix, const char *id, size_t len) {
    int lo = 0, hi = ix->n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        const char *m = ix->id[ix->by_id[mid]];
        int c = strncmp(m, id, len);
        if (!c && m[len]) c = 1;
        if (!c) return ix->by_id[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

void ml_run_index_check_unique(const ml_run_index *ix, const ml_sweep_config *cfg, const char *path) {
    for (int i = 1; i < ix->n; i++) {
        const ml_run *a = &cfg->runs[ix->by_id[i - 1]];
        if (strcmp(ix->id[ix->by_id[i - 1]], ix->id[ix->by_id[i]])) continue;
        ml_sbuf s = {0};
        settings(a, &s, 0);
        if (s.n) s.p[s.n - 1] = 0; /* the last ';' */
        ml_die("%s: the grid holds the same run twice (%s): a value is listed twice in one key or in seeds", path,
               s.p);
    }
}

static int cmp_csv(const void *a, const void *b) {
    return strcmp(sort_ix->csv[*(const int *)a], sort_ix->csv[*(const int *)b]);
}

/* The run whose settings columns are the row's; the one at the row's old
 * position where a grid over non-column keys (log_every, ...) has several. */
static int find_by_settings(ml_run_index *ix, const char *cols, size_t len, long pos) {
    if (!ix->csv) {
        ix->csv = ml_malloc(sizeof(char *) * (size_t)(ix->n + 1));
        ix->by_csv = ml_malloc(sizeof(int) * (size_t)(ix->n + 1));
        for (int i = 0; i < ix->n; i++) {
            ml_sbuf b = {0};
            settings(&ix->cfg->runs[i], &b, 1);
            ix->csv[i] = b.p;
            ix->by_csv[i] = i;
        }
        sort_ix = ix;
        qsort(ix->by_csv, (size_t)ix->n, sizeof(int), cmp_csv);
    }
    int lo = 0, hi = ix->n - 1, hit = -1;
    while (lo <= hi && hit < 0) {
        int mid = (lo + hi) / 2, c = strncmp(ix->csv[ix->by_csv[mid]], cols, len);
        if (!c && ix->csv[ix->by_csv[mid]][len]) c = 1;
        if (!c) hit = mid;
        else if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    if (hit < 0) return -1;
    while (hit > 0 && !strcmp(ix->csv[ix->by_csv[hit - 1]], ix->csv[ix->by_csv[hit]])) hit--;
    for (int h = hit; h < ix->n && !strcmp(ix->csv[ix->by_csv[h]], ix->csv[ix->by_csv[hit]]); h++)
        if (ix->by_csv[h] == pos) return (int)pos;
    return ix->by_csv[hit];
}

int ml_run_of_row(const ml_sweep_config *cfg, const char *row) {
    ml_run_index *ix = cfg->ids; /* its settings index is made on first need */
    size_t id_len = strcspn(row, ",\n");
    int r = ml_run_index_find(ix, row, id_len);
    if (r >= 0 || id_len != 7 || row[0] != 'r' || strspn(row + 1, "0123456789") != 6) return r;
    /* a positional id: the settings columns run up to the result columns */
    int n_cols = 0;
    for (int i = 0; i < ML_N_RUN_FIELDS; i++) n_cols += (ML_RUN_FIELDS[i].where & ML_RF_CSV) != 0;
    const char *cols = row + id_len + 1, *end = cols;
    for (int c = 0; c < n_cols && *end && *end != '\n'; c++) end += strcspn(end, ",\n") + (c < n_cols - 1);
    r = find_by_settings(ix, cols, (size_t)(end - cols), strtol(row + 1, NULL, 10));
    if (r >= 0) snprintf(cfg->runs[r].id, sizeof cfg->runs[r].id, "%.7s", row);
    return r;
}
