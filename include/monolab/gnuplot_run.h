/* What plot.c and plot_sae.c share to draw with gnuplot (src/gnuplot_run.c). */
#ifndef MONOLAB_GNUPLOT_RUN_H
#define MONOLAB_GNUPLOT_RUN_H
#include <stdio.h>

/* DIR/NAME.EXT, new (O_EXCL|O_NOFOLLOW: DIR is a fresh build folder). */
FILE *ml_gp_open(const char *dir, const char *name, const char *ext);
/* gnuplot NAME.gp run in DIR, its stderr in NAME.log; no shell between. */
void ml_gp_run(const char *dir, const char *name);
/* Text (a config's name, a CSV value) made safe in place for a gnuplot
 * string: quotes, backslashes, backquotes (command substitution), '@'
 * (macros) and control characters become '_'. */
char *ml_gp_text(char *s);

#endif
