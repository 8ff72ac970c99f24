/* `monolab plot OUTDIR`: the docs/science.md §1.12 figures of a sweep, drawn by
 * gnuplot as PNG and SVG. For each figure NAME we keep NAME.dat (the
 * numbers) and NAME.gp (the script) beside NAME.png and NAME.svg in
 * OUTDIR/figures, so a figure can be restyled without rerunning anything. */
#include "monolab/checkpoint.h"
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/config.h"
#include "monolab/dir_swap.h"
#include "monolab/gnuplot_run.h"
#include "monolab/csv_table.h"
#include "monolab/fsutil.h"
#include "monolab/metrics.h"
#include "monolab/plot_sae.h"
#include "monolab/yaml_tree.h"
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIG_W 900
#define FIG_H 600
#define MAX_CURVES 10

/* The hyperparameters that may be swept, and whether an axis over them is
 * log, are the ML_RF_PLOT fields of config.h's run-field table. */
#define N_HYPER ML_N_RUN_FIELDS

typedef struct {
    const char *outdir, *figdir; /* figures are drawn in build, then swapped into figdir */
    char build[4400];
    ml_csv t;
    int c_id, c_seed, c_mono, c_eval;
    int n_swept;
    int swept[N_HYPER];    /* column indices */
    int swept_log[N_HYPER];
    char caption[512];
    int n_files;           /* figures written */
} plotter;

static int is_number(const char *s) {
    char *end;
    strtod(s, &end);
    return *s && !*end;
}

static double num(const char *s) { return strtod(s, NULL); }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median, min, max over the finite values; returns how many there were */
static int stats(double *v, int n, double *med, double *lo, double *hi) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) v[k++] = v[i];
    if (!k) return 0;
    qsort(v, (size_t)k, sizeof *v, cmp_double);
    *med = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
    *lo = v[0];
    *hi = v[k - 1];
    return k;
}

/* Distinct values of a column, numeric order when numeric. */
static int distinct(const ml_csv *t, int col, const char **out) {
    int n = 0;
    for (int r = 0; r < t->n_rows; r++) {
        const char *v = t->rows[r][col];
        int seen = 0;
        for (int i = 0; i < n && !seen; i++) seen = !strcmp(out[i], v);
        if (!seen) out[n++] = v;
    }
    int numeric = 1;
    for (int i = 0; i < n; i++) numeric &= is_number(out[i]);
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0; j--) {
            int gt = numeric ? num(out[j - 1]) > num(out[j]) : strcmp(out[j - 1], out[j]) > 0;
            if (!gt) break;
            const char *x = out[j];
            out[j] = out[j - 1];
            out[j - 1] = x;
        }
    return n;
}

/* "k=64, lr=0.01" for the swept columns of row r except `skip`. */
static void combo_label(const plotter *p, int r, int skip, char *buf, size_t n) {
    buf[0] = 0;
    for (int i = 0; i < p->n_swept; i++) {
        int c = p->swept[i];
        if (c == skip) continue;
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s=%s", l ? ", " : "", p->t.cols[c], p->t.rows[r][c]);
    }
}

static FILE *open_fig(plotter *p, const char *name, const char *ext) { return ml_gp_open(p->build, name, ext); }

static void gp_begin(plotter *p, FILE *g, const char *name, const char *title_in) {
    char title[1024];
    snprintf(title, sizeof title, "%s", title_in);
    ml_gp_text(title);
    fprintf(g, "# monolab plot: %s\nset terminal pngcairo size %d,%d noenhanced font 'Sans,11'\n", name, FIG_W, FIG_H);
    fprintf(g, "set output '%s.png'\nset title \"%s\"\nset bmargin 5\nset key outside right top\nset grid\n", name, title);
    fprintf(g, "set label 99 \"%s\" at screen 0.01,0.02 font ',8' tc rgb '#555555'\n", p->caption);
}

/* Same figure again as SVG, then run gnuplot on the script. */
static void gp_end(plotter *p, FILE *g, const char *name) {
    fprintf(g, "set terminal svg size %d,%d noenhanced font 'Sans,11' background rgb 'white'\nset output '%s.svg'\nreplot\n",
            FIG_W, FIG_H, name);
    fclose(g);
    ml_gp_run(p->build, name);
    p->n_files++;
    fprintf(stderr, "[monolab] %s/%s.png and .svg\n", p->figdir, name);
}

/* Rows that match row `ref` on every swept column except `skip`. */
static int same_setting(const plotter *p, int r, int ref, int skip) {
    for (int i = 0; i < p->n_swept; i++) {
        int c = p->swept[i];
        if (c != skip && strcmp(p->t.rows[r][c], p->t.rows[ref][c])) return 0;
    }
    return 1;
}

/* Loss logs of the given rows: per logged step the median, min and max. */
static int write_loss_block(const plotter *p, FILE *d, const int *rows, int n) {
    int n_steps = 0, got = 0;
    double *vals = NULL;
    long *steps = NULL;
    for (int q = 0; q < n; q++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/loss/%s.csv", p->outdir, p->t.rows[rows[q]][p->c_id]);
        ml_csv l;
        if (ml_csv_read(&l, path)) continue;
        if (!got) {
            n_steps = l.n_rows;
            vals = ml_calloc((size_t)n_steps * n + 1, sizeof(double));
            steps = ml_calloc((size_t)n_steps + 1, sizeof(long));
            for (int s = 0; s < n_steps; s++) steps[s] = atol(l.rows[s][0]);
        }
        for (int s = 0; s < n_steps; s++) vals[(size_t)s * n + got] = s < l.n_rows ? num(l.rows[s][1]) : NAN;
        got++;
        ml_csv_free(&l);
    }
    for (int s = 0; s < n_steps; s++) {
        double med, lo, hi;
        if (stats(vals + (size_t)s * n, got, &med, &lo, &hi)) fprintf(d, "%ld %.6g %.6g %.6g\n", steps[s], med, lo, hi);
    }
    fprintf(d, "\n\n");
    free(vals);
    free(steps);
    return got;
}

/* Training loss against step, one curve per value of swept variable xi
 * (-1: all runs as one curve); the other swept variables are held at the
 * setting of the most monosemantic run; seeds form a min-max band around
 * the median. */
static void fig_loss(plotter *p, int xi, int ref) {
    const ml_csv *t = &p->t;
    int xc = xi >= 0 ? p->swept[xi] : -1;
    const char **xs = ml_calloc((size_t)t->n_rows + 1, sizeof(char *));
    int nx = xc >= 0 ? distinct(t, xc, xs) : 1;
    int *rows = ml_malloc(sizeof(int) * (size_t)t->n_rows);
    char name[128], held[512];
    snprintf(name, sizeof name, xc >= 0 ? "loss_by_%s" : "loss", xc >= 0 ? t->cols[xc] : "");
    combo_label(p, ref, xc, held, sizeof held);
    FILE *d = open_fig(p, name, "dat");
    int blocks = 0;
    const char **titles = ml_calloc((size_t)nx, sizeof(char *));
    for (int v = 0; v < nx && blocks < MAX_CURVES; v++) {
        int n = 0;
        for (int r = 0; r < t->n_rows; r++)
            if ((xc < 0 || !strcmp(t->rows[r][xc], xs[v])) && same_setting(p, r, ref, xc)) rows[n++] = r;
        fprintf(d, "# %s=%s\n", xc >= 0 ? t->cols[xc] : "all", xc >= 0 ? xs[v] : "runs");
        if (n && write_loss_block(p, d, rows, n)) titles[blocks++] = xc >= 0 ? xs[v] : "all runs";
    }
    fclose(d);
    if (!blocks) {
        fprintf(stderr, "[monolab] no loss logs in %s/loss: skipping %s\n", p->outdir, name);
    } else {
        FILE *g = open_fig(p, name, "gp");
        char title[768];
        snprintf(title, sizeof title, "Training loss by %s (median, min-max over seeds)%s%s", xc >= 0 ? t->cols[xc] : "run",
                 held[0] ? "\\n" : "", held);
        gp_begin(p, g, name, title);
        fprintf(g, "set xlabel 'step'\nset ylabel 'loss (squared error per sample)'\nset logscale y\n");
        if (xc >= 0) fprintf(g, "set key title '%s'\n", t->cols[xc]);
        fprintf(g, "set style fill transparent solid 0.15 noborder\nplot ");
        for (int b = 0; b < blocks; b++)
            fprintf(g, "%s'%s.dat' index %d using 1:3:4 with filledcurves lc %d notitle, '' index %d using 1:2 with lines lw 1.5 lc %d title \"%s\"",
                    b ? ", \\\n     " : "", name, b, b + 1, b, b + 1, titles[b]);
        fprintf(g, "\n");
        gp_end(p, g, name);
    }
    free(titles);
    free(xs);
    free(rows);
}

/* A metric against one swept variable: median and min-max over seeds, one
 * curve per setting of the other swept variables. */
static void fig_vs(plotter *p, int xi, int ycol, const char *yname, const char *ylabel) {
    const ml_csv *t = &p->t;
    int xc = p->swept[xi];
    const char **xs = ml_calloc((size_t)t->n_rows, sizeof(char *));
    int nx = distinct(t, xc, xs);
    int numeric = 1;
    for (int i = 0; i < nx; i++) numeric &= is_number(xs[i]);
    int logx = numeric && p->swept_log[xi];
    for (int i = 0; i < nx && logx; i++) logx = num(xs[i]) > 0;
    char **labels = ml_calloc((size_t)t->n_rows, sizeof(char *));
    int n_lab = 0;
    for (int r = 0; r < t->n_rows; r++) {
        char lab[512];
        combo_label(p, r, xc, lab, sizeof lab);
        int i;
        for (i = 0; i < n_lab && strcmp(labels[i], lab); i++) {}
        if (i == n_lab) labels[n_lab++] = ml_strdup(lab);
    }
    if (n_lab > MAX_CURVES) n_lab = MAX_CURVES; /* the first settings; the .dat says which */
    char name[128];
    snprintf(name, sizeof name, "%s_vs_%s", yname, t->cols[xc]);
    FILE *d = open_fig(p, name, "dat");
    double *v = ml_malloc(sizeof(double) * (size_t)t->n_rows);
    for (int ci = 0; ci < n_lab; ci++) {
        fprintf(d, "# %s\n", labels[ci]);
        for (int xv = 0; xv < nx; xv++) {
            int n = 0;
            for (int r = 0; r < t->n_rows; r++) {
                char lab[512];
                if (strcmp(t->rows[r][xc], xs[xv])) continue;
                combo_label(p, r, xc, lab, sizeof lab);
                if (!strcmp(lab, labels[ci])) v[n++] = num(t->rows[r][ycol]);
            }
            double med, lo, hi;
            if (stats(v, n, &med, &lo, &hi))
                fprintf(d, "%s %.6g %.6g %.6g %d\n", numeric ? xs[xv] : "0", med, lo, hi, xv);
        }
        fprintf(d, "\n\n");
    }
    fclose(d);
    FILE *g = open_fig(p, name, "gp");
    char title[256];
    snprintf(title, sizeof title, "%s against %s (median, min-max over seeds)", ylabel, t->cols[xc]);
    gp_begin(p, g, name, title);
    fprintf(g, "set xlabel '%s'\nset ylabel '%s'\n", t->cols[xc], ylabel);
    if (logx) /* a little room either side of the extreme values */
        fprintf(g, "set logscale x\nset xrange [%g:%g]\n", num(xs[0]) / 1.25, num(xs[nx - 1]) * 1.25);
    if (!numeric) {
        fprintf(g, "set xtics (");
        for (int i = 0; i < nx; i++) fprintf(g, "%s\"%s\" %d", i ? ", " : "", xs[i], i);
        fprintf(g, ")\nset xrange [-0.5:%d.5]\n", nx - 1);
    }
    fprintf(g, "set offsets %s, graph 0.05, graph 0.05\nplot ", logx || !numeric ? "0, 0" : "graph 0.02, graph 0.02");
    for (int ci = 0; ci < n_lab; ci++)
        fprintf(g, "%s'%s.dat' index %d using %s:2:3:4 with yerrorlines lw 1.5 pt 7 ps 0.8 title \"%s\"",
                ci ? ", \\\n     " : "", name, ci, numeric ? "1" : "5", labels[ci][0] ? labels[ci] : "all runs");
    fprintf(g, "\n");
    gp_end(p, g, name);
    for (int i = 0; i < n_lab; i++) free(labels[i]);
    free(labels);
    free(xs);
    free(v);
}

/* Claim 1: every run's monosemanticity against its loss, coloured by the
 * first swept variable. */
static void fig_scatter(plotter *p) {
    const ml_csv *t = &p->t;
    int xc = p->n_swept ? p->swept[0] : -1;
    const char **xs = ml_calloc((size_t)t->n_rows + 1, sizeof(char *));
    int nx = xc >= 0 ? distinct(t, xc, xs) : 1;
    if (nx > MAX_CURVES) { xc = -1; nx = 1; }
    FILE *d = open_fig(p, "mono_vs_loss", "dat");
    for (int v = 0; v < nx; v++) {
        fprintf(d, "# %s=%s\n", xc >= 0 ? t->cols[xc] : "all", xc >= 0 ? xs[v] : "runs");
        for (int r = 0; r < t->n_rows; r++)
            if (xc < 0 || !strcmp(t->rows[r][xc], xs[v]))
                fprintf(d, "%s %s %s\n", t->rows[r][p->c_eval], t->rows[r][p->c_mono], t->rows[r][p->c_id]);
        fprintf(d, "\n\n");
    }
    fclose(d);
    FILE *g = open_fig(p, "mono_vs_loss", "gp");
    gp_begin(p, g, "mono_vs_loss", "Monosemanticity against held-out loss, every run");
    fprintf(g, "set xlabel 'eval loss'\nset ylabel 'monosemantic neurons per feature'\n");
    if (xc >= 0) fprintf(g, "set key title '%s'\n", t->cols[xc]);
    else fprintf(g, "set key off\n");
    fprintf(g, "plot ");
    for (int v = 0; v < nx; v++)
        fprintf(g, "%s'mono_vs_loss.dat' index %d using 1:2 with points pt 7 ps 0.9 lc %d title \"%s\"", v ? ", " : "", v,
                v + 1, xc >= 0 ? xs[v] : "runs");
    fprintf(g, "\n");
    gp_end(p, g, "mono_vs_loss");
    free(xs);
}

/* Newest checkpoint of a run, or 0 if it has none. */
static int final_ckpt(const char *outdir, const char *id, char *path, size_t n) {
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/ckpt/%s", outdir, id);
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    long best = -1;
    struct dirent *e;
    while ((e = readdir(dp))) {
        long s;
        if (sscanf(e->d_name, "step_%ld.safetensors", &s) == 1 && s > best) best = s;
    }
    closedir(dp);
    if (best < 0) return 0;
    snprintf(path, n, "%s/step_%06ld.safetensors", dir, best);
    return 1;
}

typedef struct { double key; int idx; } keyed;
static int by_key_desc(const void *a, const void *b) {
    double x = ((const keyed *)a)->key, y = ((const keyed *)b)->key;
    if (x != y) return x > y ? -1 : 1;
    return ((const keyed *)a)->idx - ((const keyed *)b)->idx;
}
static int by_key_asc(const void *a, const void *b) { return -by_key_desc(a, b); }

/* The sfa heatmap and the bias plot of one run (docs/science.md §1.12). */
static void fig_sfa(plotter *p, const char *id, const char *ckpt) {
    ml_checkpoint c;
    ml_checkpoint_load(&c, ckpt);
    const int N = c.run.N, k = c.run.k;
    float *S = ml_malloc(sizeof(float) * (size_t)k * N);
    ml_checkpoint_sfa(&c, S);
    /* neurons by max/mean activation, most selective first */
    keyed *nk = ml_malloc(sizeof(keyed) * k);
    for (int j = 0; j < k; j++) {
        double mx = 0, sum = 0;
        for (int i = 0; i < N; i++) {
            double v = S[(size_t)j * N + i];
            mx = v > mx ? v : mx;
            sum += v > 0 ? v : 0;
        }
        nk[j].key = sum > 0 ? mx / (sum / N) : 0;
        nk[j].idx = j;
    }
    qsort(nk, (size_t)k, sizeof *nk, by_key_desc);
    /* features by the position (in that order) of their strongest neuron */
    keyed *fk = ml_malloc(sizeof(keyed) * N);
    for (int i = 0; i < N; i++) {
        int best = 0;
        for (int q = 1; q < k; q++)
            if (S[(size_t)nk[q].idx * N + i] > S[(size_t)nk[best].idx * N + i]) best = q;
        fk[i].key = best;
        fk[i].idx = i;
    }
    qsort(fk, (size_t)N, sizeof *fk, by_key_asc);
    char name[128];
    snprintf(name, sizeof name, "sfa_%s", id);
    FILE *d = open_fig(p, name, "dat");
    double smax = 0;
    for (int q = 0; q < k; q++) {
        for (int i = 0; i < N; i++) {
            float v = S[(size_t)nk[q].idx * N + fk[i].idx];
            smax = v > smax ? v : smax;
            fprintf(d, "%s%.4g", i ? " " : "", v);
        }
        fprintf(d, "\n");
    }
    fclose(d);
    ml_mono_stats ms;
    ml_mono_metric(S, c.b1, k, N, &ms);
    FILE *g = open_fig(p, name, "gp");
    char title[256];
    snprintf(title, sizeof title, "Single-feature activations, run %s (%d monosemantic of %d neurons)", id,
             ms.mono_neurons, k);
    gp_begin(p, g, name, title);
    fprintf(g, "set xlabel 'feature (sorted by its strongest neuron)'\nset ylabel 'neuron (sorted by max/mean activation)'\n");
    fprintf(g, "set yrange [%d.5:-0.5]\nset xrange [-0.5:%d.5]\nset cblabel 'activation'\nset cbrange [0:%g]\n", k - 1,
            N - 1, smax > 0 ? smax : 1);
    fprintf(g, "set palette defined (0 'white', 1 '#08306b')\nset key off\nunset grid\n");
    fprintf(g, "plot '%s.dat' matrix with image\n", name);
    gp_end(p, g, name);

    snprintf(name, sizeof name, "bias_%s", id);
    d = open_fig(p, name, "dat");
    for (int q = 0; q < k; q++) fprintf(d, "%d %.6g %d\n", q, c.b1[nk[q].idx], nk[q].idx);
    fclose(d);
    g = open_fig(p, name, "gp");
    snprintf(title, sizeof title, "Final bias per neuron, run %s (neurons in the heatmap's order)", id);
    gp_begin(p, g, name, title);
    fprintf(g, "set xlabel 'neuron (sorted by max/mean activation)'\nset ylabel 'b1'\nset key inside top left\nset xrange [-0.5:%d.5]\n", k - 1);
    fprintf(g, "set arrow 1 from %d, graph 0 to %d, graph 1 nohead dt 2 lc rgb '#d62728'\n", N, N);
    fprintf(g, "plot '%s.dat' using 1:2 with points pt 7 ps 0.5 lc rgb '#1f77b4' title 'b1', "
               "NaN with lines dt 2 lc rgb '#d62728' title 'neuron index = N'\n", name);
    gp_end(p, g, name);
    free(S); free(nk); free(fk);
    ml_checkpoint_free(&c);
}

static const char USAGE[] =
    "usage: monolab plot OUTDIR [--runs r000001,...]\n"
    "\n"
    "Draws the figures of a sweep (or of a `monolab sae` folder) into OUTDIR/figures/:\n"
    "NAME.png, NAME.svg, the numbers in NAME.dat and the gnuplot script NAME.gp.\n"
    "--runs picks the runs of the per-run figures (default: the most and least\n"
    "monosemantic). See README.md \"plot\" for the list of figures.\n";

int ml_plot_main(int argc, char **argv) {
    const char *outdir = NULL, *runs_opt = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs_opt = argv[++i];
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("%s", USAGE);
            return 0;
        } else if (argv[i][0] == '-') ml_die("plot: unknown option '%s' (see monolab plot --help)", argv[i]);
        else if (!outdir) outdir = argv[i];
        else ml_die("plot: one OUTDIR at a time");
    }
    if (!outdir) ml_die("plot: missing OUTDIR (see monolab plot --help)");
    if (system("gnuplot --version > /dev/null 2>&1") != 0)
        ml_die("plot: gnuplot not found; install it with: apt-get install gnuplot-nox");
    char path[4200];
    snprintf(path, sizeof path, "%s/saes.csv", outdir);
    if (ml_file_exists(path)) return ml_plot_sae(outdir); /* a `monolab sae` folder */
    plotter p = {0};
    p.outdir = outdir;
    snprintf(path, sizeof path, "%s/runs.csv", outdir);
    if (ml_csv_read(&p.t, path)) ml_die("plot: %s not found: is '%s' a sweep output directory?", path, outdir);
    if (p.t.n_rows == 0) ml_die("plot: %s has no finished runs yet", path);
    p.c_id = ml_csv_col(&p.t, "run_id");
    p.c_seed = ml_csv_col(&p.t, "seed");
    p.c_mono = ml_csv_col(&p.t, "mono_per_feature");
    p.c_eval = ml_csv_col(&p.t, "eval_loss");
    if (p.c_id < 0 || p.c_seed < 0 || p.c_mono < 0 || p.c_eval < 0)
        ml_die("plot: %s:1: not a monolab runs.csv header (run_id, seed, mono_per_feature, eval_loss missing)", path);
    for (int r = 0; r < p.t.n_rows; r++)
        if (!is_number(p.t.rows[r][p.c_mono]) && strcmp(p.t.rows[r][p.c_mono], "nan"))
            ml_die("plot: %s:%d: mono_per_feature '%s' is not a number", path, r + 2, p.t.rows[r][p.c_mono]);
    int k_varies = 0;
    for (int h = 0; h < ML_N_RUN_FIELDS; h++) {
        const ml_run_field *hf = &ML_RUN_FIELDS[h];
        if (!(hf->where & ML_RF_PLOT)) continue;
        int c = ml_csv_col(&p.t, hf->name);
        if (c < 0) ml_die("plot: %s:1: column '%s' missing", path, hf->name);
        const char **vals = ml_calloc((size_t)p.t.n_rows, sizeof(char *));
        int n = distinct(&p.t, c, vals);
        free(vals);
        if (n < 2) continue;
        if (!strcmp(hf->name, "k")) k_varies = 1;
        if (!strcmp(hf->name, "batch") && k_varies) continue; /* batch: auto follows k */
        p.swept_log[p.n_swept] = hf->log_axis;
        p.swept[p.n_swept++] = c;
    }
    /* caption: config name and scale */
    char name[256] = "";
    snprintf(path, sizeof path, "%s/config.yaml", outdir);
    if (ml_file_exists(path)) {
        ynode *y = yn_parse_file(path);
        ynode *nm = yn_map_get(y, "name");
        if (nm && nm->kind == YN_SCALAR) snprintf(name, sizeof name, "%s", nm->text);
        yn_free(y);
    }
    const char **seeds = ml_calloc((size_t)p.t.n_rows, sizeof(char *));
    int n_seeds = distinct(&p.t, p.c_seed, seeds);
    free(seeds);
    char **row0 = p.t.rows[0];
#define COL(n) row0[ml_csv_col(&p.t, n)]
    const char **batches = ml_calloc((size_t)p.t.n_rows, sizeof(char *));
    int one_batch = distinct(&p.t, ml_csv_col(&p.t, "batch"), batches) == 1;
    free(batches);
    snprintf(p.caption, sizeof p.caption, "%s: %s, N=%s m=%s%s%s, %s steps, batch %s, %d seed%s, %d runs", name[0] ? name : outdir,
             COL("task"), COL("N"), COL("m"), k_varies ? "" : " k=", k_varies ? "" : COL("k"), COL("steps"),
             one_batch ? COL("batch") : "2^(23-ceil(log2 k))", n_seeds, n_seeds == 1 ? "" : "s", p.t.n_rows);
#undef COL
    ml_gp_text(p.caption);
    char figdir[4200];
    snprintf(figdir, sizeof figdir, "%s/figures", outdir);
    /* drawn whole beside figures/, then swapped in: no figure of runs no
     * longer drawn survives, and nothing planted in figures/ is written */
    ml_dir_build_begin(figdir, p.build, sizeof p.build);
    p.figdir = figdir;

    int ref = 0; /* the most monosemantic run: the setting the loss figures hold fixed */
    for (int r = 1; r < p.t.n_rows; r++)
        if (num(p.t.rows[r][p.c_mono]) > num(p.t.rows[ref][p.c_mono])) ref = r;
    if (!p.n_swept) fig_loss(&p, -1, ref);
    for (int i = 0; i < p.n_swept; i++) {
        fig_loss(&p, i, ref);
        fig_vs(&p, i, p.c_mono, "mono", "monosemantic neurons per feature");
        fig_vs(&p, i, p.c_eval, "eval_loss", "eval loss");
    }
    fig_scatter(&p);
    /* sfa heatmaps: the runs named, else the most and least monosemantic */
    char ck[4200];
    if (runs_opt) {
        char *list = ml_strdup(runs_opt), *save = NULL;
        for (char *id = strtok_r(list, ",", &save); id; id = strtok_r(NULL, ",", &save)) {
            if (!final_ckpt(outdir, id, ck, sizeof ck)) ml_die("plot: run '%s' has no checkpoint in %s/ckpt", id, outdir);
            fig_sfa(&p, id, ck);
        }
        free(list);
    } else {
        int best = -1, worst = -1;
        for (int r = 0; r < p.t.n_rows; r++) {
            double v = num(p.t.rows[r][p.c_mono]);
            if (!isfinite(v) || !final_ckpt(outdir, p.t.rows[r][p.c_id], ck, sizeof ck)) continue;
            if (best < 0 || v > num(p.t.rows[best][p.c_mono])) best = r;
            if (worst < 0 || v < num(p.t.rows[worst][p.c_mono])) worst = r;
        }
        if (best < 0) fprintf(stderr, "[monolab] no checkpoints (checkpoints: none?): skipping the sfa heatmaps\n");
        for (int w = 0; w < 2 && best >= 0; w++) {
            int r = w ? worst : best;
            if (w && worst == best) break;
            final_ckpt(outdir, p.t.rows[r][p.c_id], ck, sizeof ck);
            fig_sfa(&p, p.t.rows[r][p.c_id], ck);
        }
    }
    ml_dir_build_commit(p.build, figdir);
    fprintf(stderr, "[monolab] %d figures in %s\n", p.n_files, figdir);
    ml_csv_free(&p.t);
    return 0;
}
