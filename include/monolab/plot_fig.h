/* The figure writer `monolab plot` draws every figure through: a figure is
 * a set of curves, and a figure with more curves than one panel shows
 * legibly is faceted into small multiples and, past a page's panels, split
 * into several files, never cut short. Each page keeps NAME.dat (the
 * numbers) and NAME.gp (the script) beside NAME.png and NAME.svg. */
#ifndef MONOLAB_PLOT_FIG_H
#define MONOLAB_PLOT_FIG_H
#include <stdio.h>

#define ML_FIG_W 900
#define ML_FIG_H 600
#define ML_FIG_MAX_CURVES 10 /* the palette's distinct colours: a panel never repeats one */
#define ML_FIG_MAX_PANELS 4  /* panels on one page, 2 x 2 */

FILE *ml_fig_open(const char *figdir, const char *name, const char *ext);
/* Writes NAME.gp, which draws `body` to NAME.png and again to NAME.svg
 * (w x h), and runs gnuplot on it in figdir (its messages go to NAME.log). */
void ml_fig_script(const char *figdir, const char *name, int w, int h, const char *body);

/* A one-panel 900 x 600 figure: the shared frame (grid, key, caption), the
 * title, then body; returns 1, the files written. */
int ml_fig_single(const char *figdir, const char *name, const char *title, const char *caption, const char *body);

/* A log x axis over the sorted values xs[0..n) (all >= 0, some > 0): when 0
 * is among them it is drawn apart, one step of the axis's own spacing left
 * of the smallest positive value, labelled "0" behind a dotted break line.
 * Appends the gnuplot lines to g and returns where 0 is drawn. */
double ml_fig_logx(FILE *g, const double *xs, int n);

typedef struct {
    const char *figdir, *name;
    const char *title, *caption;
    const char *setup;       /* gnuplot lines every panel needs: axis labels, log scales */
    int n_curves, n_vars;
    const char *const *var_names; /* [n_vars]: the variables that tell curves apart */
    const char *const *vals;      /* [n_curves * n_vars]: curve c's value of variable v */
    const int *facetable;         /* [n_vars]: may panels be cut by it? NULL: all may */
    const char *under;            /* optional clause drawn under each curve in its colour, notitle */
    const char *using;            /* the curve's own clause, e.g. "using 1:2 with lines" */
    void (*write_block)(void *ctx, FILE *dat, int curve); /* the curve's rows */
    void *ctx;
} ml_fig;

/* Draws every curve of f and returns the number of files (pages) written.
 * Up to ML_FIG_MAX_CURVES curves make one 900 x 600 panel. More are faceted
 * by the fewest facetable variables that bring each panel within the limit
 * (any panel still over it is split into parts), ML_FIG_MAX_PANELS panels
 * to a page, pages NAME, NAME_page2, ...; that is said on stderr. */
int ml_fig_draw(const ml_fig *f);

#endif
