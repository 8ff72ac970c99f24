/* The commands of the `monolab` binary. Each command owns its command
 * line in its own file and is registered by one line in src/main.c's
 * table. Returns the exit code; bad usage exits 2 through ml_die. */
#ifndef MONOLAB_CLI_H
#define MONOLAB_CLI_H

int ml_analyze_main(int argc, char **argv); /* src/analyze.c */
int ml_embed_main(int argc, char **argv);   /* src/embed.c */
int ml_plot_main(int argc, char **argv);    /* src/plot.c */

#endif
