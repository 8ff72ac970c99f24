/* Faceting, paging and the gnuplot scripts of every figure (plot_fig.h). */
#include "monolab/plot_fig.h"
#include "monolab/common.h"
#include "monolab/gnuplot_run.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Ten colours that stay distinct (matplotlib's tab10), so no two curves of
 * a panel share one: gnuplot's own default cycles after eight. */
static const char PALETTE[] =
    "set linetype 1 lc rgb '#1f77b4'\nset linetype 2 lc rgb '#ff7f0e'\nset linetype 3 lc rgb '#2ca02c'\n"
    "set linetype 4 lc rgb '#d62728'\nset linetype 5 lc rgb '#9467bd'\nset linetype 6 lc rgb '#8c564b'\n"
    "set linetype 7 lc rgb '#e377c2'\nset linetype 8 lc rgb '#7f7f7f'\nset linetype 9 lc rgb '#bcbd22'\n"
    "set linetype 10 lc rgb '#17becf'\nset linetype cycle 10\n";

/* figdir is always a fresh build folder (dir_swap.h): files are created
 * new, never written through anything planted there. */
FILE *ml_fig_open(const char *figdir, const char *name, const char *ext) { return ml_gp_open(figdir, name, ext); }

void ml_fig_script(const char *figdir, const char *name, int w, int h, const char *body) {
    FILE *g = ml_fig_open(figdir, name, "gp");
    /* the body twice rather than `replot`, which cannot redo a multiplot */
    fprintf(g, "# monolab plot: %s\nset terminal pngcairo size %d,%d noenhanced font 'Sans,11'\nset output '%s.png'\n%s%s",
            name, w, h, name, PALETTE, body);
    fprintf(g, "set terminal svg size %d,%d noenhanced font 'Sans,11' background rgb 'white'\nset output '%s.svg'\n%s", w, h,
            name, body);
    fclose(g);
    ml_gp_run(figdir, name); /* no shell: a folder's name is never parsed */
}

static void frame(FILE *b, const char *caption) {
    fprintf(b, "set bmargin 5\nset key outside right top\nset grid\n");
    fprintf(b, "set label 99 \"%s\" at screen 0.01,0.02 font ',8' tc rgb '#555555'\n", caption);
}

int ml_fig_single(const char *figdir, const char *name, const char *title, const char *caption, const char *body) {
    char *all = NULL;
    size_t len = 0;
    FILE *b = open_memstream(&all, &len);
    frame(b, caption);
    fprintf(b, "set title \"%s\"\n%s", title, body);
    fclose(b);
    ml_fig_script(figdir, name, ML_FIG_W, ML_FIG_H, all);
    free(all);
    return 1;
}

double ml_fig_logx(FILE *g, const double *xs, int n) {
    int z = 0;
    while (z < n && xs[z] <= 0) z++;
    double lo = xs[z], hi = xs[n - 1];
    /* one step of the axis's spacing: the ratio of the two smallest positive values */
    double step = z + 1 < n && xs[z + 1] / lo < 1e3 ? xs[z + 1] / lo : 10;
    double zero = z ? lo / step : lo;
    fprintf(g, "set logscale x\nset xrange [%g:%g]\n", zero / 1.25, hi * 1.25);
    if (z) {
        double cut = sqrt(zero * lo);
        fprintf(g, "set xtics add (\"0\" %g)\n", zero);
        fprintf(g, "set arrow 98 from %g, graph 0 to %g, graph 1 nohead dt 3 lc rgb '#777777'\n", cut, cut);
        fprintf(g, "set label 98 \"log axis: 0 drawn apart\" at %g, graph 0.98 right font ',8' tc rgb '#555555'\n", cut);
    }
    return zero;
}

/* ---- faceting ---- */

typedef struct {
    int n;        /* curves */
    int *curves;
    char *title;  /* the facet variables' values, and the part when split */
} panel;

static int popcount(unsigned m) {
    int n = 0;
    for (; m; m &= m - 1) n++;
    return n;
}

static void key_of(const ml_fig *f, int c, unsigned mask, int want_in, char *buf, size_t n) {
    buf[0] = 0;
    for (int v = 0; v < f->n_vars; v++) {
        if (!!(mask >> v & 1u) != want_in) continue;
        size_t l = strlen(buf);
        snprintf(buf + l, n - l, "%s%s=%s", l ? ", " : "", f->var_names[v], f->vals[c * f->n_vars + v]);
    }
}

/* Curves grouped by their values of the variables in mask, in order of first appearance. */
static int group(const ml_fig *f, unsigned mask, panel *out) {
    int np = 0;
    char key[1024];
    char **keys = ml_calloc((size_t)f->n_curves, sizeof(char *));
    for (int c = 0; c < f->n_curves; c++) {
        key_of(f, c, mask, 1, key, sizeof key);
        int p = 0;
        while (p < np && strcmp(keys[p], key)) p++;
        if (p == np) {
            keys[np] = ml_strdup(key);
            if (out) out[np] = (panel){0, ml_malloc(sizeof(int) * (size_t)f->n_curves), ml_strdup(key)};
            np++;
        }
        if (out) out[p].curves[out[p].n++] = c;
    }
    for (int p = 0; p < np; p++) free(keys[p]);
    free(keys);
    return np;
}

static int largest(const ml_fig *f, unsigned mask) {
    panel *ps = ml_calloc((size_t)f->n_curves, sizeof(panel));
    int np = group(f, mask, ps), mx = 0;
    for (int p = 0; p < np; p++) {
        mx = ps[p].n > mx ? ps[p].n : mx;
        free(ps[p].curves);
        free(ps[p].title);
    }
    free(ps);
    return mx;
}

/* The fewest facetable variables that bring every panel within the limit
 * (then the fewest panels); all facetable ones when none do. */
static unsigned choose_facets(const ml_fig *f) {
    unsigned all = 0;
    for (int v = 0; v < f->n_vars && v < 16; v++)
        if (!f->facetable || f->facetable[v]) all |= 1u << v;
    if (f->n_curves <= ML_FIG_MAX_CURVES) return 0;
    for (int size = 1; size <= popcount(all); size++) {
        unsigned best = 0;
        int best_np = 0;
        for (unsigned m = 1; m <= all; m++) {
            if ((m & ~all) || popcount(m) != size || largest(f, m) > ML_FIG_MAX_CURVES) continue;
            int np = group(f, m, NULL);
            if (!best || np < best_np) best = m, best_np = np;
        }
        if (best) return best;
    }
    return all;
}

/* Panels over the limit become parts of nearly equal size. */
static int split_parts(panel *in, int np, panel **out) {
    int total = 0;
    for (int p = 0; p < np; p++) total += (in[p].n + ML_FIG_MAX_CURVES - 1) / ML_FIG_MAX_CURVES;
    panel *o = ml_calloc((size_t)total, sizeof(panel));
    int k = 0;
    for (int p = 0; p < np; p++) {
        int parts = (in[p].n + ML_FIG_MAX_CURVES - 1) / ML_FIG_MAX_CURVES;
        for (int q = 0; q < parts; q++) {
            int a = in[p].n * q / parts, b = in[p].n * (q + 1) / parts;
            o[k].n = b - a;
            o[k].curves = ml_malloc(sizeof(int) * (size_t)(b - a));
            memcpy(o[k].curves, in[p].curves + a, sizeof(int) * (size_t)(b - a));
            char t[1200];
            if (parts == 1) snprintf(t, sizeof t, "%s", in[p].title);
            else snprintf(t, sizeof t, "%s%scurves %d-%d of %d", in[p].title, in[p].title[0] ? ", " : "", a + 1, b, in[p].n);
            o[k++].title = ml_strdup(t);
        }
        free(in[p].curves);
        free(in[p].title);
    }
    *out = o;
    return total;
}

static void draw_page(const ml_fig *f, const char *name, const panel *ps, int np, unsigned mask) {
    FILE *d = ml_fig_open(f->figdir, name, "dat");
    char *body = NULL;
    size_t body_len = 0;
    FILE *b = open_memstream(&body, &body_len);
    int cols = np == 1 ? 1 : 2, rows = (np + 1) / 2;
    frame(b, f->caption);
    if (np > 1) fprintf(b, "set multiplot layout %d,%d title \"%s\"\n", rows, cols, f->title);
    else fprintf(b, "set title \"%s%s%s\"\n", f->title, ps[0].title[0] ? "\\n" : "", ps[0].title);
    fprintf(b, "%s", f->setup);
    int block = 0;
    for (int p = 0; p < np; p++) {
        if (np > 1) fprintf(b, "set title \"%s\"\n", ps[p].title);
        fprintf(b, "plot ");
        for (int i = 0; i < ps[p].n; i++) {
            int c = ps[p].curves[i];
            char label[1024];
            key_of(f, c, mask, 0, label, sizeof label);
            fprintf(d, "# %s%s%s\n", ps[p].title, ps[p].title[0] && label[0] ? ", " : "", label);
            f->write_block(f->ctx, d, c);
            fprintf(d, "\n\n");
            if (f->under) fprintf(b, "'%s.dat' index %d %s lc %d notitle, ", name, block, f->under, i + 1);
            fprintf(b, "'%s.dat' index %d %s lc %d title \"%s\"%s", name, block, f->using, i + 1,
                    label[0] ? label : "all runs", i + 1 < ps[p].n ? ", \\\n     " : "\n");
            block++;
        }
        if (p == 0) fprintf(b, "unset label 99\n"); /* the caption once per page */
    }
    if (np > 1) fprintf(b, "unset multiplot\n");
    fclose(b);
    fclose(d);
    ml_fig_script(f->figdir, name, cols * ML_FIG_W, rows * ML_FIG_H, body);
    free(body);
}

int ml_fig_draw(const ml_fig *f) {
    unsigned mask = choose_facets(f);
    panel *grouped = ml_calloc((size_t)f->n_curves + 1, sizeof(panel)), *ps;
    int np = f->n_curves ? group(f, mask, grouped) : 0;
    np = split_parts(grouped, np, &ps);
    free(grouped);
    int pages = (np + ML_FIG_MAX_PANELS - 1) / ML_FIG_MAX_PANELS;
    if (np > 1) {
        char by[512] = "";
        for (int v = 0; v < f->n_vars; v++)
            if (mask >> v & 1u) snprintf(by + strlen(by), sizeof by - strlen(by), "%s%s", by[0] ? ", " : " by ", f->var_names[v]);
        fprintf(stderr, "[monolab] %s: %d curves, more than the %d one panel shows legibly: %d panels%s on %d page%s (%s%s)\n",
                f->name, f->n_curves, ML_FIG_MAX_CURVES, np, by, pages, pages == 1 ? "" : "s", f->name,
                pages > 1 ? ", then _page2, ..." : "");
    }
    for (int g = 0; g < pages; g++) {
        char name[300];
        if (g) snprintf(name, sizeof name, "%s_page%d", f->name, g + 1);
        else snprintf(name, sizeof name, "%s", f->name);
        int first = g * ML_FIG_MAX_PANELS, n = np - first < ML_FIG_MAX_PANELS ? np - first : ML_FIG_MAX_PANELS;
        draw_page(f, name, ps + first, n, mask);
    }
    for (int p = 0; p < np; p++) {
        free(ps[p].curves);
        free(ps[p].title);
    }
    free(ps);
    return pages;
}
