/* Figures of an SAE sweep (Foote 2024 Table 2 as plots): every metric of
 * saes.csv against λ2, median over seeds with min-max bars and a curve per
 * λ1; and the trade-off, MSE against median mean pairwise distance. As in
 * plot.c, each figure keeps its .dat and .gp beside the .png and .svg. */
#include "monolab/plot_sae.h"
#include "monolab/common.h"
#include "monolab/dir_swap.h"
#include "monolab/gnuplot_run.h"
#include "monolab/csv_table.h"
#include "monolab/fsutil.h"
#include "monolab/plot_fig.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *col, *label; } METRICS[] = {
    {"mse", "MSE"}, {"l1", "L1 (mean sum of activations)"}, {"l0", "L0 (fraction active)"},
    {"dead_frac", "dead latents (fraction)"}, {"acc_drop", "accuracy drop"},
    {"median_max_dist", "median max distance"}, {"median_mean_dist", "median mean distance"},
};
#define N_METRICS ((int)(sizeof METRICS / sizeof METRICS[0]))

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorted distinct values of a numeric column. */
static int distinct(const ml_csv *t, int c, double *out) {
    int n = 0;
    for (int r = 0; r < t->n_rows; r++) {
        double v = atof(t->rows[r][c]);
        int seen = 0;
        for (int i = 0; i < n; i++) seen |= out[i] == v;
        if (!seen) out[n++] = v;
    }
    qsort(out, (size_t)n, sizeof *out, cmp_d);
    return n;
}

int ml_plot_sae(const char *outdir) {
    char path[ML_PATH_MAX], final_dir[ML_PATH_MAX], figdir[ML_PATH_MAX2];
    snprintf(path, sizeof path, "%s/saes.csv", outdir);
    ml_csv t;
    if (ml_csv_read(&t, path)) ml_die("plot: %s not found", path);
    if (t.n_rows == 0) ml_die("plot: %s has no SAEs", path);
    int c_ln = ml_csv_col(&t, "ln_coef"), c_l1 = ml_csv_col(&t, "l1_coef"), c_seed = ml_csv_col(&t, "seed");
    int cm[N_METRICS];
    for (int i = 0; i < N_METRICS; i++)
        if ((cm[i] = ml_csv_col(&t, METRICS[i].col)) < 0) ml_die("plot: %s:1: column '%s' missing", path, METRICS[i].col);
    if (c_ln < 0 || c_l1 < 0 || c_seed < 0) ml_die("plot: %s:1: columns ln_coef, l1_coef and seed are needed", path);
    snprintf(final_dir, sizeof final_dir, "%s/figures", outdir);
    ml_dir_build_begin(final_dir, figdir, sizeof figdir); /* drawn beside, swapped in at the end */
    double *lns = ml_malloc(sizeof(double) * t.n_rows), *l1s = ml_malloc(sizeof(double) * t.n_rows);
    double *seeds = ml_malloc(sizeof(double) * t.n_rows), *v = ml_malloc(sizeof(double) * t.n_rows);
    int n_ln = distinct(&t, c_ln, lns), n_l1 = distinct(&t, c_l1, l1s), n_seed = distinct(&t, c_seed, seeds);
    char caption[512];
    snprintf(caption, sizeof caption, "%s: %d SAEs, %d value%s of lambda2 x %d of lambda1 x %d seed%s; median and min-max over seeds",
             outdir, t.n_rows, n_ln, n_ln == 1 ? "" : "s", n_l1, n_seed, n_seed == 1 ? "" : "s");
    ml_gp_text(caption); /* the folder's name is the user's text */

    /* sae_metrics_vs_ln.dat: a block per λ1; a row per λ2: pos, λ2, then med lo hi per metric */
    FILE *d = ml_fig_open(figdir, "sae_metrics_vs_ln", "dat");
    fprintf(d, "# position lambda2");
    for (int i = 0; i < N_METRICS; i++) fprintf(d, " %s_med %s_min %s_max", METRICS[i].col, METRICS[i].col, METRICS[i].col);
    fprintf(d, "\n");
    for (int a = 0; a < n_l1; a++) {
        fprintf(d, "# lambda1 = %g\n", l1s[a]);
        for (int b = 0; b < n_ln; b++) {
            fprintf(d, "%d %g", b, lns[b]);
            for (int i = 0; i < N_METRICS; i++) {
                int k = 0;
                for (int r = 0; r < t.n_rows; r++) {
                    double x = atof(t.rows[r][cm[i]]);
                    if (atof(t.rows[r][c_l1]) == l1s[a] && atof(t.rows[r][c_ln]) == lns[b] && isfinite(x)) v[k++] = x;
                }
                qsort(v, (size_t)k, sizeof *v, cmp_d);
                double med = k == 0 ? NAN : k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
                fprintf(d, " %.9g %.9g %.9g", med, k ? v[0] : NAN, k ? v[k - 1] : NAN);
            }
            fprintf(d, "\n");
        }
        fprintf(d, "\n\n");
    }
    fclose(d);
    char body[16384];
    int n = snprintf(body, sizeof body, "set multiplot layout 2,4 title \"SAE metrics against lambda2 (neuron-embedding loss weight)\\n%s\"\n"
                                        "set grid\nset key top left font ',8'\nset xlabel 'lambda2'\nset offsets 0.3,0.3,0,0\n", caption);
    for (int i = 0; i < N_METRICS; i++) {
        n += snprintf(body + n, sizeof body - n, "set title '%s'\nplot ", METRICS[i].label);
        for (int a = 0; a < n_l1; a++)
            n += snprintf(body + n, sizeof body - n, "%s'sae_metrics_vs_ln.dat' index %d using 1:%d:%d:%d:xtic(2) with yerrorlines pt 7 title 'lambda1=%g'",
                          a ? ", " : "", a, 3 + 3 * i, 4 + 3 * i, 5 + 3 * i, l1s[a]);
        n += snprintf(body + n, sizeof body - n, "\n");
    }
    snprintf(body + n, sizeof body - n, "unset multiplot\n");
    ml_fig_script(figdir, "sae_metrics_vs_ln", 1600, 800, body);

    /* sae_tradeoff: every SAE, a series per λ2 */
    d = ml_fig_open(figdir, "sae_tradeoff", "dat");
    int c_mean = cm[6], c_mse = cm[0];
    for (int b = 0; b < n_ln; b++) {
        fprintf(d, "# lambda2 = %g: median_mean_dist mse sae_id\n", lns[b]);
        for (int r = 0; r < t.n_rows; r++)
            if (atof(t.rows[r][c_ln]) == lns[b]) fprintf(d, "%s %s %s\n", t.rows[r][c_mean], t.rows[r][c_mse], t.rows[r][0]);
        fprintf(d, "\n\n");
    }
    fclose(d);
    n = snprintf(body, sizeof body, "set title 'Reconstruction against polysemanticity: MSE vs median mean pairwise distance'\n"
                                    "set xlabel 'median over latents of the mean pairwise distance (neuron embeddings)'\n"
                                    "set ylabel 'MSE'\nset grid\nset key outside right top\nset bmargin 5\n"
                                    "set label 99 \"%s\" at screen 0.01,0.02 font ',8' tc rgb '#555555'\nplot ", caption);
    for (int b = 0; b < n_ln; b++)
        n += snprintf(body + n, sizeof body - n, "%s'sae_tradeoff.dat' index %d using 1:2 with points pt 7 ps 1.3 title 'lambda2=%g'",
                      b ? ", " : "", b, lns[b]);
    snprintf(body + n, sizeof body - n, "\n");
    ml_fig_script(figdir, "sae_tradeoff", 900, 600, body);
    ml_dir_build_commit(figdir, final_dir);
    fprintf(stderr, "[monolab] 2 figures in %s\n", final_dir);
    free(lns); free(l1s); free(seeds); free(v);
    ml_csv_free(&t);
    return 0;
}
