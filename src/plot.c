/* `monolab plot OUTDIR`: the docs/science.md §1.12 figures of a sweep, drawn by
 * gnuplot as PNG and SVG. For each figure NAME we keep NAME.dat (the
 * numbers) and NAME.gp (the script) beside NAME.png and NAME.svg in
 * OUTDIR/figures, so a figure can be restyled without rerunning anything. */
#include "monolab/checkpoint.h"
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/config.h"
#include "monolab/csv_table.h"
#include "monolab/dir_swap.h"
#include "monolab/fsutil.h"
#include "monolab/gnuplot_run.h"
#include "monolab/metrics.h"
#include "monolab/plot_sae.h"
#include "monolab/plot_fig.h"
#include "monolab/plot_table.h"
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Everything a figure's data blocks need: the rows and the figure's choices. */
typedef struct {
    const ml_plot_table *p;
    const char *figdir;
    int n_files;           /* pages written */
    int xc, ycol;          /* the figure's x variable (-1: none) and metric */
    const char **xs;       /* xc's sorted values */
    int nx, numeric;
    double zero_pos;       /* where x = 0 is drawn on a log axis */
    int logx;
    int *rep;              /* a row of each curve's setting */
} plotter;

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

/* Rows that match row `ref` on every swept column except `skip`. */
static int same_setting(const ml_plot_table *p, int r, int ref, int skip) {
    for (int i = 0; i < p->n_swept; i++) {
        int c = p->swept[i];
        if (c != skip && strcmp(p->t.rows[r][c], p->t.rows[ref][c])) return 0;
    }
    return 1;
}

static void loss_path(const ml_plot_table *p, int r, char *path, size_t n) {
    snprintf(path, n, "%s/loss/%s.csv", p->dirs[p->src[r]], p->t.rows[r][p->c_id]);
}

/* Loss logs of the given rows: per logged step the median, min and max. */
static void write_loss_block(const ml_plot_table *p, FILE *d, const int *rows, int n) {
    int n_steps = 0, got = 0;
    double *vals = NULL;
    long *steps = NULL;
    for (int q = 0; q < n; q++) {
        char path[ML_PATH_MAX];
        loss_path(p, rows[q], path, sizeof path);
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
    free(vals);
    free(steps);
}

/* The rows of loss curve c: x value c, the other swept variables at rep[0]. */
static int loss_rows(const plotter *pl, int v, int *rows) {
    const ml_plot_table *p = pl->p;
    int n = 0;
    for (int r = 0; r < p->t.n_rows; r++)
        if ((pl->xc < 0 || !strcmp(p->t.rows[r][pl->xc], pl->xs[v])) && same_setting(p, r, pl->rep[0], pl->xc)) rows[n++] = r;
    return n;
}

static void loss_block(void *ctx, FILE *d, int c) {
    plotter *pl = ctx;
    int *rows = ml_malloc(sizeof(int) * (size_t)pl->p->t.n_rows);
    int n = loss_rows(pl, pl->rep[1 + c], rows);
    write_loss_block(pl->p, d, rows, n);
    free(rows);
}

/* "k=64, lr=0.01" for the swept columns of row r except `skip`. */
static void combo_label(const ml_plot_table *p, int r, int skip, char *buf, size_t n) {
    buf[0] = 0;
    for (int i = 0; i < p->n_swept; i++) {
        int c = p->swept[i];
        if (c == skip) continue;
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s=%s", l ? ", " : "", p->t.cols[c], p->t.rows[r][c]);
    }
}

/* Training loss against step, one curve per value of swept variable xi
 * (-1: all runs as one curve); the other swept variables are held at the
 * setting of the most monosemantic run; seeds form a min-max band around
 * the median. Values whose runs left no loss log have no curve. */
static void fig_loss(plotter *pl, int xi, int ref) {
    const ml_plot_table *p = pl->p;
    const ml_csv *t = &p->t;
    int xc = xi >= 0 ? p->swept[xi] : -1;
    const char **xs = ml_calloc((size_t)t->n_rows + 1, sizeof(char *));
    int nx = xc >= 0 ? ml_plot_distinct(t, xc, xs) : 1;
    int *rows = ml_malloc(sizeof(int) * (size_t)t->n_rows);
    int *rep = ml_malloc(sizeof(int) * (size_t)(nx + 1)); /* rep[0]: the held setting; rep[1 + c]: curve c's x index */
    const char **vals = ml_calloc((size_t)nx, sizeof(char *));
    pl->xc = xc;
    pl->xs = xs;
    pl->rep = rep;
    rep[0] = ref;
    int n_curves = 0;
    for (int v = 0; v < nx; v++) {
        int n = loss_rows(pl, v, rows), logged = 0;
        for (int q = 0; q < n && !logged; q++) {
            char path[ML_PATH_MAX];
            loss_path(p, rows[q], path, sizeof path);
            logged = ml_file_exists(path);
        }
        if (!logged) continue;
        vals[n_curves] = xc >= 0 ? xs[v] : "all runs";
        rep[1 + n_curves++] = v;
    }
    char name[128], held[512], title[768];
    snprintf(name, sizeof name, xc >= 0 ? "loss_by_%s" : "loss", xc >= 0 ? t->cols[xc] : "");
    combo_label(p, ref, xc, held, sizeof held);
    if (!n_curves) {
        fprintf(stderr, "[monolab] no loss logs in %s/loss: skipping %s\n", p->dirs[0], name);
    } else {
        snprintf(title, sizeof title, "Training loss by %s (median, min-max over seeds)%s%s", xc >= 0 ? t->cols[xc] : "run",
                 held[0] ? "\\n" : "", held);
        const char *var = xc >= 0 ? t->cols[xc] : "runs";
        int facetable = 0; /* the curve variable itself: panels of it would hold one curve each */
        ml_fig f = {pl->figdir, name, title, p->caption,
                    "set xlabel 'step'\nset ylabel 'loss (squared error per sample)'\nset logscale y\n"
                    "set style fill transparent solid 0.15 noborder\n",
                    n_curves, 1, &var, vals, &facetable,
                    "using 1:3:4 with filledcurves", "using 1:2 with lines lw 1.5", loss_block, pl};
        pl->n_files += ml_fig_draw(&f);
    }
    free(vals);
    free(rep);
    free(xs);
    free(rows);
}

static void vs_block(void *ctx, FILE *d, int c) {
    plotter *pl = ctx;
    const ml_plot_table *p = pl->p;
    const ml_csv *t = &p->t;
    double *v = ml_malloc(sizeof(double) * (size_t)t->n_rows);
    for (int xv = 0; xv < pl->nx; xv++) {
        int n = 0;
        for (int r = 0; r < t->n_rows; r++)
            if (!strcmp(t->rows[r][pl->xc], pl->xs[xv]) && same_setting(p, r, pl->rep[c], pl->xc))
                v[n++] = num(t->rows[r][pl->ycol]);
        double med, lo, hi;
        if (!stats(v, n, &med, &lo, &hi)) continue;
        double x = pl->numeric ? num(pl->xs[xv]) : 0;
        double pos = !pl->numeric ? xv : pl->logx && x <= 0 ? pl->zero_pos : x;
        fprintf(d, "%s %.6g %.6g %.6g %d %.9g\n", pl->numeric ? pl->xs[xv] : "0", med, lo, hi, xv, pos);
        if (pl->logx && x <= 0) fprintf(d, "\n"); /* no line across the axis break */
    }
    free(v);
}

/* A metric against one swept variable: median and min-max over seeds, one
 * curve per setting of the other swept variables (faceted when there are
 * more than a panel shows). Columns: x, median, min, max, x index, the
 * position drawn. */
static void fig_vs(plotter *pl, int xi, int ycol, const char *yname, const char *ylabel) {
    const ml_plot_table *p = pl->p;
    const ml_csv *t = &p->t;
    int xc = p->swept[xi];
    const char **xs = ml_calloc((size_t)t->n_rows, sizeof(char *));
    int nx = ml_plot_distinct(t, xc, xs);
    int numeric = 1;
    for (int i = 0; i < nx; i++) numeric &= ml_plot_is_number(xs[i]);
    int logx = numeric && p->swept_log[xi] && num(xs[nx - 1]) > 0 && num(xs[0]) >= 0;
    /* curves: the distinct settings of the other swept variables, in grid order */
    int n_vars = p->n_swept - 1;
    const char **var_names = ml_calloc((size_t)n_vars + 1, sizeof(char *));
    for (int i = 0, v = 0; i < p->n_swept; i++)
        if (i != xi) var_names[v++] = t->cols[p->swept[i]];
    int *rep = ml_malloc(sizeof(int) * (size_t)t->n_rows), n_curves = 0;
    const char **vals = ml_calloc((size_t)t->n_rows * (n_vars + 1), sizeof(char *));
    for (int r = 0; r < t->n_rows; r++) {
        int c = 0;
        while (c < n_curves && !same_setting(p, r, rep[c], xc)) c++;
        if (c < n_curves) continue;
        rep[n_curves] = r;
        for (int i = 0, v = 0; i < p->n_swept; i++)
            if (i != xi) vals[n_curves * n_vars + v++] = t->rows[r][p->swept[i]];
        n_curves++;
    }
    char *setup = NULL;
    size_t setup_len = 0;
    FILE *g = open_memstream(&setup, &setup_len);
    fprintf(g, "set xlabel '%s'\nset ylabel '%s'\n", t->cols[xc], ylabel);
    double zero_pos = 0;
    if (logx) {
        double *xv = ml_malloc(sizeof(double) * (size_t)nx);
        for (int i = 0; i < nx; i++) xv[i] = num(xs[i]);
        zero_pos = ml_fig_logx(g, xv, nx);
        free(xv);
    }
    if (!numeric) {
        fprintf(g, "set xtics (");
        for (int i = 0; i < nx; i++) fprintf(g, "%s\"%s\" %d", i ? ", " : "", xs[i], i);
        fprintf(g, ")\nset xrange [-0.5:%d.5]\n", nx - 1);
    }
    /* one y range for every panel, so that small multiples compare at a glance */
    double ylo = INFINITY, yhi = -INFINITY;
    for (int r = 0; r < t->n_rows; r++) {
        double y = num(t->rows[r][ycol]);
        if (isfinite(y)) ylo = y < ylo ? y : ylo, yhi = y > yhi ? y : yhi;
    }
    if (ylo > 0 && yhi > 1e3 * ylo) /* a loss that blew up would flatten every other point */
        fprintf(g, "set logscale y\nset yrange [%.9g:%.9g]\n", ylo / 1.25, yhi * 1.25);
    else if (yhi > ylo) fprintf(g, "set yrange [%.9g:%.9g]\n", ylo - 0.05 * (yhi - ylo), yhi + 0.05 * (yhi - ylo));
    fprintf(g, "set offsets %s, %s\n", logx || !numeric ? "0, 0" : "graph 0.02, graph 0.02",
            yhi > ylo ? "0, 0" : "graph 0.05, graph 0.05");
    fclose(g);
    char name[128], title[256];
    snprintf(name, sizeof name, "%s_vs_%s", yname, t->cols[xc]);
    snprintf(title, sizeof title, "%s against %s (median, min-max over seeds)", ylabel, t->cols[xc]);
    *pl = (plotter){p, pl->figdir, pl->n_files, xc, ycol, xs, nx, numeric, zero_pos, logx, rep};
    ml_fig f = {pl->figdir, name, title, p->caption, setup, n_curves, n_vars, var_names, vals, NULL,
                NULL, "using 6:2:3:4 with yerrorlines lw 1.5 pt 7 ps 0.8", vs_block, pl};
    pl->n_files += ml_fig_draw(&f);
    free(setup);
    free(vals);
    free(rep);
    free(var_names);
    free(xs);
}

static void scatter_block(void *ctx, FILE *d, int c) {
    plotter *pl = ctx;
    const ml_plot_table *p = pl->p;
    for (int r = 0; r < p->t.n_rows; r++) {
        if (pl->xc >= 0 && strcmp(p->t.rows[r][pl->xc], pl->xs[c])) continue;
        double x = num(p->t.rows[r][p->c_eval]);
        if (!isfinite(x)) continue;
        fprintf(d, "%s %s %s %.9g\n", p->t.rows[r][p->c_eval], p->t.rows[r][p->c_mono], p->t.rows[r][p->c_id],
                pl->logx && x <= 0 ? pl->zero_pos : x);
    }
}

/* Claim 1: every run's monosemanticity against its loss, coloured by the
 * first swept variable that has few enough values to tell apart. A loss
 * range over three decades (one run that blew up) gets a log axis, so the
 * other runs do not collapse onto one vertical line; runs without a finite
 * loss cannot be placed, and the figure and stderr say how many. */
static void fig_scatter(plotter *pl) {
    const ml_plot_table *p = pl->p;
    const ml_csv *t = &p->t;
    const char **xs = ml_calloc((size_t)t->n_rows + 1, sizeof(char *));
    int xc = -1, nx = 1;
    for (int i = 0; i < p->n_swept && xc < 0; i++)
        if ((nx = ml_plot_distinct(t, p->swept[i], xs)) <= ML_FIG_MAX_CURVES) xc = p->swept[i];
    if (xc < 0) nx = 1, xs[0] = "all runs";
    double lo = INFINITY, hi = 0;
    int nonfinite = 0, zeros = 0;
    for (int r = 0; r < t->n_rows; r++) {
        double x = num(t->rows[r][p->c_eval]);
        if (!isfinite(x)) nonfinite++;
        else if (x <= 0) zeros++;
        else lo = x < lo ? x : lo, hi = x > hi ? x : hi;
    }
    char *setup = NULL;
    size_t setup_len = 0;
    FILE *g = open_memstream(&setup, &setup_len);
    fprintf(g, "set xlabel 'eval loss'\nset ylabel 'monosemantic neurons per feature'\n");
    int logx = hi > 0 && hi > 1e3 * lo;
    double zero_pos = 0;
    if (logx) {
        double ends[3] = {0, lo, hi};
        zero_pos = ml_fig_logx(g, zeros ? ends : ends + 1, zeros ? 3 : 2);
    }
    if (nonfinite) {
        fprintf(g, "set label 97 \"%d run%s with a non-finite eval loss (diverged) not drawn\" at graph 0.02, graph 0.96 font ',9' tc rgb '#d62728'\n",
                nonfinite, nonfinite == 1 ? "" : "s");
        fprintf(stderr, "[monolab] mono_vs_loss: %d run%s with a non-finite eval loss (diverged) cannot be placed\n", nonfinite,
                nonfinite == 1 ? "" : "s");
    }
    fclose(g);
    *pl = (plotter){p, pl->figdir, pl->n_files, xc, p->c_mono, xs, nx, 1, zero_pos, logx, NULL};
    const char *var = xc >= 0 ? t->cols[xc] : "runs";
    int facetable = 0;
    ml_fig f = {pl->figdir, "mono_vs_loss", "Monosemanticity against held-out loss, every run", p->caption, setup,
                nx, 1, &var, xs, &facetable, NULL, "using 4:2 with points pt 7 ps 0.9", scatter_block, pl};
    pl->n_files += ml_fig_draw(&f);
    free(setup);
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

/* A per-run figure's name and title label for row r: its id, and where
 * the id is in several folders (the same settings and seed), the folder
 * too. The first folder holding it keeps the plain name; folder K (1: the
 * first OUTDIR) adds _K, so that no two folders' runs share a file. */
static void run_names(const ml_plot_table *p, int r, char *stem, size_t sn, char *label, size_t ln) {
    const char *id = p->t.rows[r][p->c_id];
    int first = r, holders = 0;
    for (int q = 0; q < p->t.n_rows; q++)
        if (!strcmp(p->t.rows[q][p->c_id], id)) {
            holders++;
            if (q < first) first = q;
        }
    if (first == r) snprintf(stem, sn, "%s", id);
    else snprintf(stem, sn, "%s_%d", id, p->src[r] + 1);
    if (holders > 1) snprintf(label, ln, "%s in %s", id, p->dirs[p->src[r]]);
    else snprintf(label, ln, "%s", id);
    ml_gp_text(label); /* a folder's name is the user's text */
}

/* The sfa heatmap and the bias plot of one run, row r (docs/science.md §1.12). */
static void fig_sfa(plotter *pl, int r, const char *ckpt) {
    char stem[64], id[512]; /* id: the label in titles */
    run_names(pl->p, r, stem, sizeof stem, id, sizeof id);
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
    snprintf(name, sizeof name, "sfa_%s", stem);
    FILE *d = ml_fig_open(pl->figdir, name, "dat");
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
    char *body = NULL, title[1024];
    size_t len = 0;
    FILE *g = open_memstream(&body, &len);
    snprintf(title, sizeof title, "Single-feature activations, run %s (%d monosemantic of %d neurons)", id,
             ms.mono_neurons, k);
    fprintf(g, "set xlabel 'feature (sorted by its strongest neuron)'\nset ylabel 'neuron (sorted by max/mean activation)'\n");
    fprintf(g, "set yrange [%d.5:-0.5]\nset xrange [-0.5:%d.5]\nset cblabel 'activation'\nset cbrange [0:%g]\n", k - 1,
            N - 1, smax > 0 ? smax : 1);
    fprintf(g, "set palette defined (0 'white', 1 '#08306b')\nset key off\nunset grid\n");
    fprintf(g, "plot '%s.dat' matrix with image\n", name);
    fclose(g);
    pl->n_files += ml_fig_single(pl->figdir, name, title, pl->p->caption, body);
    free(body);

    snprintf(name, sizeof name, "bias_%s", stem);
    d = ml_fig_open(pl->figdir, name, "dat");
    for (int q = 0; q < k; q++) fprintf(d, "%d %.6g %d\n", q, c.b1[nk[q].idx], nk[q].idx);
    fclose(d);
    g = open_memstream(&body, &len);
    snprintf(title, sizeof title, "Final bias per neuron, run %s (neurons in the heatmap's order)", id);
    fprintf(g, "set xlabel 'neuron (sorted by max/mean activation)'\nset ylabel 'b1'\nset key inside top left\nset xrange [-0.5:%d.5]\n", k - 1);
    fprintf(g, "set arrow 1 from %d, graph 0 to %d, graph 1 nohead dt 2 lc rgb '#d62728'\n", N, N);
    fprintf(g, "plot '%s.dat' using 1:2 with points pt 7 ps 0.5 lc rgb '#1f77b4' title 'b1', "
               "NaN with lines dt 2 lc rgb '#d62728' title 'neuron index = N'\n", name);
    fclose(g);
    pl->n_files += ml_fig_single(pl->figdir, name, title, pl->p->caption, body);
    free(body);
    free(S); free(nk); free(fk);
    ml_checkpoint_free(&c);
}

static const char USAGE[] =
    "usage: monolab plot OUTDIR [OUTDIR...] [-o FIGDIR] [--runs [FOLDER:]RUN_ID,...]\n"
    "\n"
    "Draws the figures of a sweep (or of a `monolab sae` folder) into OUTDIR/figures/:\n"
    "NAME.png, NAME.svg, the numbers in NAME.dat and the gnuplot script NAME.gp.\n"
    "Several sweep folders are drawn together (their runs.csv must have the same\n"
    "columns and task) into FIGDIR, by default runs/plot_<A>+<B>....\n"
    "A figure with more curves than one panel shows legibly (10) is faceted into\n"
    "panels and pages, never cut short; stderr says so.\n"
    "--runs picks the runs of the per-run figures (default: the most and least\n"
    "monosemantic). Run ids name the settings and seed, so folders may share\n"
    "one: FOLDER:RUN_ID takes it from that OUTDIR, a bare RUN_ID from the first\n"
    "that holds it (stderr says which hold it). Each folder's runs make their\n"
    "own curves when folders share runs. See README.md \"plot\" for the list of\n"
    "figures.\n";

/* The folder a --runs FOLDER:ID names: one of the OUTDIRs, as typed or by
 * another path to it; exits 2 when it is not one drawn. */
static int folder_named(const ml_plot_table *p, const char *spec, int len) {
    char dir[ML_PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", len, spec);
    struct stat a, b;
    for (int i = 0; i < p->n_dirs; i++)
        if (!strcmp(p->dirs[i], dir) ||
            (!stat(dir, &a) && !stat(p->dirs[i], &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino))
            return i;
    ml_die("plot: --runs %s: %s is not one of the folders drawn", spec, dir);
}

/* The row and newest checkpoint of a --runs entry: ID, looked for in every
 * folder, or FOLDER:ID, in that one (ids hash the settings and seed, so two
 * folders may hold the same run). A bare ID that several folders hold is
 * drawn from the first, and stderr says so in one line. Exits 2 before
 * anything is drawn when the run is not there or has no checkpoint. */
static int named_run(const ml_plot_table *p, const char *spec, char *ck, size_t n) {
    const char *colon = strrchr(spec, ':'), *id = colon ? colon + 1 : spec;
    int folder = colon ? folder_named(p, spec, (int)(colon - spec)) : -1;
    int first = -1, last = -1, n_held = 0;
    for (int r = 0; r < p->t.n_rows; r++)
        if (!strcmp(p->t.rows[r][p->c_id], id) && (folder < 0 || p->src[r] == folder)) {
            if (first < 0) first = r;
            last = r;
            n_held++;
        }
    if (first < 0)
        ml_die("plot: run '%s' has no checkpoint: it is not a run of %s/runs.csv%s", id, p->dirs[folder < 0 ? 0 : folder],
               folder < 0 && p->n_dirs > 1 ? " (nor of the other folders')" : "");
    const char *dir = p->dirs[p->src[first]];
    if (!final_ckpt(dir, id, ck, n)) ml_die("plot: run '%s' has no checkpoint in %s/ckpt (checkpoints: none?)", id, dir);
    if (n_held > 1) {
        char held[2048] = "";
        for (int r = first, k = 0; r <= last; r++)
            if (!strcmp(p->t.rows[r][p->c_id], id))
                snprintf(held + strlen(held), sizeof held - strlen(held), "%s%s", k++ ? (r == last ? " and " : ", ") : "",
                         p->dirs[p->src[r]]);
        fprintf(stderr, "[monolab] plot: run %s is in %s (the same settings and seed); drawing %s's; name one as "
                "FOLDER:ID to choose (--runs %s:%s)\n", id, held, dir, p->dirs[p->src[last]], id);
    }
    return first;
}

int ml_plot_main(int argc, char **argv) {
    const char *runs_opt = NULL, *figdir_opt = NULL;
    char **dirs = ml_calloc((size_t)argc + 1, sizeof(char *));
    int n_dirs = 0;
    static const ml_cli_opt OPTS[] = {{"--runs", NULL, 1}, {"--figdir", "-o", 1}, {NULL}};
    ml_cli cl = {"plot", USAGE, OPTS, argc, argv, 0};
    char *v;
    for (int k; (k = ml_cli_next(&cl, &v)) != ML_CLI_END;) {
        if (k == 0) runs_opt = v;
        else if (k == 1) figdir_opt = v;
        else dirs[n_dirs++] = v;
    }
    if (!n_dirs) ml_cli_usage_die("plot", "missing OUTDIR", NULL);
    if (system("gnuplot --version > /dev/null 2>&1") != 0)
        ml_die("plot: gnuplot not found; install it with: apt-get install gnuplot-nox");
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/saes.csv", dirs[0]);
    if (ml_file_exists(path)) { /* a `monolab sae` folder */
        if (n_dirs > 1 || figdir_opt) ml_die("plot: an SAE folder (%s) is drawn alone, into its figures/", dirs[0]);
        return ml_plot_sae(dirs[0]);
    }
    ml_plot_table t;
    ml_plot_table_load(&t, dirs, n_dirs);
    /* the per-run figures' runs, checked before anything is drawn */
    int n_named = 0, *named = ml_calloc((size_t)t.t.n_rows + 2, sizeof(int));
    char ck[ML_PATH_MAX];
    if (runs_opt) {
        char *list = ml_strdup(runs_opt), *save = NULL;
        for (char *id = strtok_r(list, ",", &save); id; id = strtok_r(NULL, ",", &save))
            if (n_named <= t.t.n_rows) named[n_named++] = named_run(&t, id, ck, sizeof ck);
        free(list);
    } else {
        int best = -1, worst = -1;
        for (int r = 0; r < t.t.n_rows; r++) {
            double v = num(t.t.rows[r][t.c_mono]);
            if (!isfinite(v) || !final_ckpt(t.dirs[t.src[r]], t.t.rows[r][t.c_id], ck, sizeof ck)) continue;
            if (best < 0 || v > num(t.t.rows[best][t.c_mono])) best = r;
            if (worst < 0 || v < num(t.t.rows[worst][t.c_mono])) worst = r;
        }
        if (best < 0) fprintf(stderr, "[monolab] no checkpoints (checkpoints: none?): skipping the sfa heatmaps\n");
        else named[n_named++] = best;
        if (worst >= 0 && worst != best) named[n_named++] = worst;
    }
    char figdir[ML_PATH_MAX];
    if (figdir_opt) snprintf(figdir, sizeof figdir, "%s", figdir_opt);
    else if (n_dirs == 1) snprintf(figdir, sizeof figdir, "%s/figures", dirs[0]);
    else {
        ml_default_outdir(figdir, sizeof figdir, "plot_", dirs[0]); /* runs/plot_a+b+... */
        for (int i = 1; i < n_dirs; i++) {
            char other[1024];
            ml_default_outdir(other, sizeof other, "", dirs[i]);
            snprintf(figdir + strlen(figdir), sizeof figdir - strlen(figdir), "+%s", other + strlen("runs/"));
        }
    }
    /* drawn whole beside figdir, then swapped in: no figure of runs no
     * longer drawn survives, and nothing planted in figdir is written */
    char build[ML_PATH_MAX2];
    ml_dir_build_begin(figdir, build, sizeof build);
    plotter pl = {.p = &t, .figdir = build};

    int ref = 0; /* the most monosemantic run: the setting the loss figures hold fixed */
    for (int r = 1; r < t.t.n_rows; r++)
        if (num(t.t.rows[r][t.c_mono]) > num(t.t.rows[ref][t.c_mono])) ref = r;
    if (!t.n_swept) fig_loss(&pl, -1, ref);
    for (int i = 0; i < t.n_swept; i++) {
        fig_loss(&pl, i, ref);
        fig_vs(&pl, i, t.c_mono, "mono", "monosemantic neurons per feature");
        fig_vs(&pl, i, t.c_eval, "eval_loss", "eval loss");
    }
    fig_scatter(&pl);
    for (int i = 0; i < n_named; i++) {
        int r = named[i];
        final_ckpt(t.dirs[t.src[r]], t.t.rows[r][t.c_id], ck, sizeof ck);
        fig_sfa(&pl, r, ck);
    }
    ml_dir_build_commit(build, figdir);
    fprintf(stderr, "[monolab] %d figures in %s\n", pl.n_files, figdir);
    free(named);
    free(dirs);
    ml_plot_table_free(&t);
    return 0;
}
