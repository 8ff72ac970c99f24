/* Loading the runs `monolab plot` draws, from one folder or several
 * (plot_table.h). */
#include "monolab/plot_table.h"
#include "monolab/gnuplot_run.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/yaml_tree.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ml_plot_is_number(const char *s) {
    char *end;
    strtod(s, &end);
    return *s && !*end;
}

int ml_plot_distinct(const ml_csv *t, int col, const char **out) {
    int n = 0;
    for (int r = 0; r < t->n_rows; r++) {
        const char *v = t->rows[r][col];
        int seen = 0;
        for (int i = 0; i < n && !seen; i++) seen = !strcmp(out[i], v);
        if (!seen) out[n++] = v;
    }
    int numeric = 1;
    for (int i = 0; i < n; i++) numeric &= ml_plot_is_number(out[i]);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            int gt = numeric ? strtod(out[j - 1], NULL) > strtod(out[j], NULL) : strcmp(out[j - 1], out[j]) > 0;
            if (!gt) break;
            const char *x = out[j];
            out[j] = out[j - 1];
            out[j - 1] = x;
        }
    return n;
}

static int n_distinct(const ml_csv *t, int col) {
    const char **v = ml_calloc((size_t)t->n_rows + 1, sizeof(char *));
    int n = ml_plot_distinct(t, col, v);
    free(v);
    return n;
}

static void read_part(ml_csv *t, const char *dir) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if (ml_csv_read(t, path)) ml_die("plot: %s not found: is '%s' a sweep output directory?", path, dir);
    if (t->n_rows == 0) ml_die("plot: %s has no finished runs yet", path);
    const char *need[] = {"run_id", "seed", "mono_per_feature", "eval_loss"};
    for (int i = 0; i < 4; i++)
        if (ml_csv_col(t, need[i]) < 0)
            ml_die("plot: %s:1: not a monolab runs.csv header (run_id, seed, mono_per_feature, eval_loss missing)", path);
    int c_mono = ml_csv_col(t, "mono_per_feature");
    for (int r = 0; r < t->n_rows; r++)
        if (!ml_plot_is_number(t->rows[r][c_mono]) && strcmp(t->rows[r][c_mono], "nan"))
            ml_die("plot: %s:%d: mono_per_feature '%s' is not a number", path, r + 2, t->rows[r][c_mono]);
    for (int h = 0; h < ML_N_RUN_FIELDS; h++)
        if ((ML_RUN_FIELDS[h].where & ML_RF_PLOT) && ml_csv_col(t, ML_RUN_FIELDS[h].name) < 0)
            ml_die("plot: %s:1: column '%s' missing", path, ML_RUN_FIELDS[h].name);
}

/* Folders are drawn together only when their axes mean the same. */
static void check_agree(const ml_plot_table *p, int i) {
    const ml_csv *a = &p->parts[0], *b = &p->parts[i];
    int same = a->n_cols == b->n_cols;
    for (int c = 0; same && c < a->n_cols; c++) same = !strcmp(a->cols[c], b->cols[c]);
    if (!same)
        ml_die("plot: %s/runs.csv and %s/runs.csv have different columns: their axes do not agree", p->dirs[0], p->dirs[i]);
    int ta = ml_csv_col(a, "task");
    if (strcmp(a->rows[0][ta], b->rows[0][ta]))
        ml_die("plot: %s holds task %s and %s task %s: their losses are not on one axis", p->dirs[0], a->rows[0][ta],
               p->dirs[i], b->rows[0][ta]);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* How many rows repeat a setting and seed (a run id) of another folder's?
 * Only the folder tells those runs apart. */
static int repeated_runs(const ml_plot_table *p) {
    const ml_csv *t = &p->t;
    char **keys = ml_calloc((size_t)t->n_rows, sizeof(char *));
    for (int r = 0; r < t->n_rows; r++) {
        char k[4096] = "";
        for (int h = 0; h < ML_N_RUN_FIELDS; h++)
            if (ML_RUN_FIELDS[h].where & ML_RF_PLOT || !strcmp(ML_RUN_FIELDS[h].name, "seed"))
                snprintf(k + strlen(k), sizeof k - strlen(k), "%s,", t->rows[r][ml_csv_col(t, ML_RUN_FIELDS[h].name)]);
        snprintf(k + strlen(k), sizeof k - strlen(k), "\t%d", p->src[r]);
        keys[r] = ml_strdup(k);
    }
    qsort(keys, (size_t)t->n_rows, sizeof *keys, cmp_str);
    int repeated = 0;
    for (int r = 1; r < t->n_rows; r++) {
        size_t l = strcspn(keys[r], "\t");
        repeated += l == strcspn(keys[r - 1], "\t") && !strncmp(keys[r], keys[r - 1], l) && strcmp(keys[r] + l, keys[r - 1] + l);
    }
    for (int r = 0; r < t->n_rows; r++) free(keys[r]);
    free(keys);
    return repeated;
}

static void combine(ml_plot_table *p) {
    int extra = p->n_dirs > 1, nc = p->parts[0].n_cols + extra, total = 0;
    for (int i = 0; i < p->n_dirs; i++) total += p->parts[i].n_rows;
    ml_csv *t = &p->t;
    t->n_cols = nc;
    t->cols = ml_calloc((size_t)nc, sizeof(char *));
    memcpy(t->cols, p->parts[0].cols, sizeof(char *) * (size_t)p->parts[0].n_cols);
    if (extra) t->cols[nc - 1] = "sweep";
    t->rows = ml_calloc((size_t)total, sizeof(char **));
    p->src = ml_calloc((size_t)total, sizeof(int));
    /* the "sweep" cells are copies: every cell is made gnuplot-safe in
     * place below, and the folders' paths must stay the paths they are */
    p->labels = ml_calloc((size_t)p->n_dirs, sizeof(char *));
    for (int i = 0; i < p->n_dirs; i++) p->labels[i] = ml_strdup(p->dirs[i]);
    for (int i = 0; i < p->n_dirs; i++)
        for (int r = 0; r < p->parts[i].n_rows; r++) {
            char **row = ml_calloc((size_t)nc, sizeof(char *));
            memcpy(row, p->parts[i].rows[r], sizeof(char *) * (size_t)p->parts[0].n_cols);
            if (extra) row[nc - 1] = p->labels[i];
            p->src[t->n_rows] = i;
            t->rows[t->n_rows++] = row;
        }
}

static void config_name(const char *dir, char *buf, size_t n) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    snprintf(buf, n, "%s", dir);
    if (!ml_file_exists(path)) return;
    ynode *y = yn_parse_file(path);
    ynode *nm = yn_map_get(y, "name");
    if (nm && nm->kind == YN_SCALAR) snprintf(buf, n, "%s", nm->text);
    yn_free(y);
}

/* caption: the configs' names and the scale */
static void caption(ml_plot_table *p, int k_varies) {
    char names[512] = "";
    for (int i = 0; i < p->n_dirs; i++) {
        char nm[256];
        config_name(p->dirs[i], nm, sizeof nm);
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " + " : "", nm);
    }
    const ml_csv *t = &p->t;
    int n_seeds = n_distinct(t, p->c_seed), one_batch = n_distinct(t, ml_csv_col(t, "batch")) == 1;
    char **row0 = t->rows[0];
#define COL(n) row0[ml_csv_col(t, n)]
    snprintf(p->caption, sizeof p->caption, "%s: %s, N=%s m=%s%s%s, %s steps, batch %s, %d seed%s, %d runs", names,
             COL("task"), COL("N"), COL("m"), k_varies ? "" : " k=", k_varies ? "" : COL("k"), COL("steps"),
             one_batch ? COL("batch") : "2^(23-ceil(log2 k))", n_seeds, n_seeds == 1 ? "" : "s", t->n_rows);
#undef COL
    ml_gp_text(p->caption); /* a config's name is the user's text */
}

void ml_plot_table_load(ml_plot_table *p, char **dirs, int n_dirs) {
    memset(p, 0, sizeof *p);
    p->n_dirs = n_dirs;
    p->dirs = dirs;
    p->parts = ml_calloc((size_t)n_dirs, sizeof(ml_csv));
    for (int i = 0; i < n_dirs; i++) {
        read_part(&p->parts[i], dirs[i]);
        if (i) check_agree(p, i);
    }
    combine(p);
    ml_csv *t = &p->t;
    /* every cell may end up in a gnuplot string (a key, a panel title): a
     * quote, backquote or '@' in a hand-edited runs.csv must stay text */
    for (int r = 0; r < t->n_rows; r++)
        for (int c = 0; c < t->n_cols; c++) ml_gp_text(t->rows[r][c]);
    p->c_id = ml_csv_col(t, "run_id");
    p->c_seed = ml_csv_col(t, "seed");
    p->c_mono = ml_csv_col(t, "mono_per_feature");
    p->c_eval = ml_csv_col(t, "eval_loss");
    int k_varies = 0;
    for (int h = 0; h < ML_N_RUN_FIELDS; h++) {
        const ml_run_field *hf = &ML_RUN_FIELDS[h];
        if (!(hf->where & ML_RF_PLOT)) continue;
        int c = ml_csv_col(t, hf->name);
        if (n_distinct(t, c) < 2) continue;
        if (!strcmp(hf->name, "k")) k_varies = 1;
        if (!strcmp(hf->name, "batch") && k_varies) continue; /* batch: auto follows k */
        p->swept_log[p->n_swept] = hf->log_axis;
        p->swept[p->n_swept++] = c;
    }
    int repeated = n_dirs > 1 ? repeated_runs(p) : 0;
    if (repeated) {
        /* the same run in two folders stays one row in each folder's
         * curves, not two in one: its results may differ (another device,
         * another version) */
        p->swept_log[p->n_swept] = 0;
        p->swept[p->n_swept++] = t->n_cols - 1;
        fprintf(stderr, "[monolab] plot: %d run%s also in another folder (the same settings and seed): the folder "
                "is a swept variable, sweep, so each folder's runs make their own curves and none counts twice\n",
                repeated, repeated == 1 ? " is" : "s are");
    }
    caption(p, k_varies);
}

void ml_plot_table_free(ml_plot_table *p) {
    for (int r = 0; r < p->t.n_rows; r++) free(p->t.rows[r]);
    free(p->t.rows);
    free(p->t.cols);
    for (int i = 0; i < p->n_dirs; i++) ml_csv_free(&p->parts[i]);
    free(p->parts);
    free(p->src);
    for (int i = 0; p->labels && i < p->n_dirs; i++) free(p->labels[i]);
    free(p->labels);
}
