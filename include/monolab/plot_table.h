/* The rows `monolab plot` draws: the runs.csv of one sweep folder, or of
 * several drawn together, with the hyperparameters that vary among them. */
#ifndef MONOLAB_PLOT_TABLE_H
#define MONOLAB_PLOT_TABLE_H
#include "monolab/config.h"
#include "monolab/csv_table.h"

typedef struct {
    int n_dirs;
    char **dirs;     /* the sweep folders, as given */
    char **labels;   /* their "sweep" cells: copies, made gnuplot-safe (several folders only) */
    ml_csv *parts;   /* their runs.csv */
    ml_csv t;        /* every row; a "sweep" column last when several folders */
    int *src;        /* row -> folder */
    int c_id, c_seed, c_mono, c_eval;
    int n_swept;
    int swept[ML_N_RUN_FIELDS + 1]; /* columns that take more than one value */
    int swept_log[ML_N_RUN_FIELDS + 1];
    char caption[1024];
} ml_plot_table;

/* Reads and checks every folder's runs.csv (exit 2 naming the file on a
 * bad one). Several folders are drawn together only when their runs.csv
 * have the same columns and the same task, the meaning of the y axes;
 * anything else they differ in becomes a swept variable, and when two
 * folders hold the same setting and seed, the folder itself ("sweep") is
 * one, so no run is taken for another's seed. */
void ml_plot_table_load(ml_plot_table *p, char **dirs, int n_dirs);
void ml_plot_table_free(ml_plot_table *p);

/* Sorted distinct values of column col (numeric order when all are numbers). */
int ml_plot_distinct(const ml_csv *t, int col, const char **out);
int ml_plot_is_number(const char *s);

#endif
