/* The commands of the `monolab` binary. Each command owns its command
 * line in its own file and is registered by one line in src/main.c's
 * table. Returns the exit code; bad usage exits 2 through ml_die. */
#ifndef MONOLAB_CLI_H
#define MONOLAB_CLI_H
#include "monolab/common.h"
#include <stddef.h>

int ml_sweep_main(int argc, char **argv);   /* src/sweep.c */
int ml_embed_main(int argc, char **argv);   /* src/embed.c */
int ml_plot_main(int argc, char **argv);    /* src/plot.c */
int ml_analyze_main(int argc, char **argv); /* src/analyze.c */
int ml_sae_main(int argc, char **argv);     /* src/sae_cmd.c */
int ml_explore_main(int argc, char **argv); /* src/explore.c */
int ml_merge_main(int argc, char **argv);   /* src/merge.c */
int ml_slurm_main(int argc, char **argv);   /* src/slurm.c */
int ml_selftest_main(int argc, char **argv); /* src/selftest.c */
int ml_watch_main(int argc, char **argv);   /* src/watch.c */

/* The one option parser of every command. A command lists its options in
 * a table ending with {NULL}; ml_cli_next walks argv and returns, for each
 * argument, the index of its option in the table with the value in *val
 * (NULL for a flag), ML_CLI_ARG for a positional argument (in *val), or
 * ML_CLI_END. The rules are the same everywhere: a long option takes its
 * value as `--opt value` or `--opt=value`, a short alias as `-o value`;
 * -h and --help print usage and exit 0; an unknown option, a missing value
 * or a value given to a flag exit 2 as "cmd: ... (see monolab cmd --help)". */
typedef struct {
    const char *name;  /* "--device" */
    const char *alias; /* "-o", or NULL */
    int takes_value;
} ml_cli_opt;

typedef struct {
    const char *cmd, *usage; /* usage: the whole --help text */
    const ml_cli_opt *opts;
    int argc;
    char **argv;
    int i; /* next argument; 0 to start */
} ml_cli;

enum { ML_CLI_END = -1, ML_CLI_ARG = -2 };
int ml_cli_next(ml_cli *c, char **val);

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
ML_NORETURN void ml_cli_usage_die(const char *cmd, const char *msg, const char *arg);

#endif
