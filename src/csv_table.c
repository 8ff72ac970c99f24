#include "monolab/csv_table.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include <stdlib.h>
#include <string.h>

static int split(char *line, char **out, int max) {
    int n = 0;
    for (char *p = line;; p++) {
        if (n < max) out[n] = p;
        n++;
        p = strchr(p, ',');
        if (!p) break;
        *p = 0;
    }
    return n;
}

int ml_csv_read(ml_csv *t, const char *path) {
    memset(t, 0, sizeof *t);
    size_t len;
    t->buf = ml_read_file(path, &len);
    if (!t->buf) return -1;
    if (len == 0) ml_die("%s: empty file", path);
    int lines = 0;
    for (size_t i = 0; i < len; i++) lines += t->buf[i] == '\n';
    char *save = NULL, *line = strtok_r(t->buf, "\n", &save);
    if (!line) ml_die("%s: empty file", path);
    int nc = 1;
    for (char *p = line; *p; p++) nc += *p == ',';
    t->n_cols = nc;
    t->cols = ml_calloc((size_t)nc, sizeof(char *));
    split(line, t->cols, nc);
    t->rows = ml_calloc((size_t)lines + 1, sizeof(char **));
    int lineno = 1;
    while ((line = strtok_r(NULL, "\n", &save))) {
        lineno++;
        char **row = ml_calloc((size_t)nc, sizeof(char *));
        int got = split(line, row, nc);
        if (got != nc) ml_die("%s:%d: expected %d fields, got %d", path, lineno, nc, got);
        t->rows[t->n_rows++] = row;
    }
    return 0;
}

void ml_csv_free(ml_csv *t) {
    for (int r = 0; r < t->n_rows; r++) free(t->rows[r]);
    free(t->rows);
    free(t->cols);
    free(t->buf);
    memset(t, 0, sizeof *t);
}

int ml_csv_col(const ml_csv *t, const char *name) {
    for (int c = 0; c < t->n_cols; c++)
        if (!strcmp(t->cols[c], name)) return c;
    return -1;
}
