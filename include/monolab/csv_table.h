/* A whole CSV file (no quoting: monolab writes none) as rows of strings. */
#ifndef MONOLAB_CSV_TABLE_H
#define MONOLAB_CSV_TABLE_H

typedef struct {
    int n_cols, n_rows;
    char **cols;   /* header names */
    char ***rows;  /* rows[r][c] */
    char *buf;
} ml_csv;

/* Returns 0, or -1 if the file does not exist. Exits 2 on a malformed file
 * ("path:line: expected N fields, got M"). */
int ml_csv_read(ml_csv *t, const char *path);
void ml_csv_free(ml_csv *t);
int ml_csv_col(const ml_csv *t, const char *name); /* -1 if absent */

#endif
