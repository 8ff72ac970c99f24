/* The commands of the `monolab` binary. Each command owns its command
 * line in its own file and is registered by one line in src/main.c's
 * table. Returns the exit code; bad usage exits 2 through ml_die. */
#ifndef MONOLAB_CLI_H
#define MONOLAB_CLI_H
#include <stddef.h>

int ml_sweep_main(int argc, char **argv);   /* src/sweep.c */
int ml_embed_main(int argc, char **argv);   /* src/embed.c */
int ml_plot_main(int argc, char **argv);    /* src/plot.c */
int ml_analyze_main(int argc, char **argv); /* src/analyze.c */
int ml_sae_main(int argc, char **argv);     /* src/sae_cmd.c */
int ml_explore_main(int argc, char **argv); /* src/explore.c */
int ml_merge_main(int argc, char **argv);   /* src/merge.c */
int ml_slurm_main(int argc, char **argv);   /* src/slurm.c */

/* Where a command writes when -o is not given: runs/<prefix><stem>, the
 * stem being input's file name up to its first dot (src/cli.c). */
void ml_default_outdir(char *buf, size_t n, const char *prefix, const char *input);

/* A positional argument of a command that takes CONFIG.yaml [key=value ...]
 * (sweep, slurm): the config path first, then overrides (over has room for
 * argc entries); anything else exits 2 naming cmd. */
void ml_cli_config_arg(const char *cmd, char *arg, const char **config_path, char **over, int *n_over);

/* The value of a numeric option: the whole of v must be a number in
 * [lo, hi] (so `--samples 1e4` is 10000 and `--samples 10k` is refused,
 * never read as 10), else exit 2 naming cmd, flag and v. */
double ml_cli_number(const char *cmd, const char *flag, const char *v, double lo, double hi);

/* Bad usage of cmd: "cmd: msg[ arg] (see monolab cmd --help)", exit 2. */
void ml_cli_usage_die(const char *cmd, const char *msg, const char *arg);

#endif
