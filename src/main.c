/* monolab: the one binary. A table of commands, each of which owns its
 * command line in its own file (include/monolab/cli.h), plus `info`. A new
 * command is one line in COMMANDS. */
#include "monolab/backend.h"
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/device_stamp.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ML_VERSION
#define ML_VERSION "0.1.0"
#endif

extern char *openblas_get_config(void);

static int info_main(int argc, char **argv) {
    (void)argc; (void)argv;
    char reason[256] = "";
    printf("monolab %s\n", ML_VERSION);
    const char *wait = getenv("OMP_WAIT_POLICY"), *spin = getenv("GOMP_SPINCOUNT");
    printf("cpu backend: OpenBLAS (%s), %d OpenMP threads (%s), wait policy %s%s%s%s\n", openblas_get_config(),
           omp_get_max_threads(),
           getenv("OMP_NUM_THREADS") ? "OMP_NUM_THREADS, fixed"
           : wait || spin            ? "fixed while you set the wait policy"
                                     : "fewer while other processes share the cores",
           wait ? wait : spin ? "" : "libgomp default", wait && spin ? "," : "", spin ? "GOMP_SPINCOUNT=" : "",
           spin ? spin : "");
    const ml_backend *cuda = ml_backend_cuda_get(reason, sizeof reason);
    if (!cuda) {
        printf("cuda backend: unavailable (%s)\n", reason);
        return 0;
    }
    printf("cuda backend: %s\n", reason);
    ml_stamp_key k;
    char date[40] = "", summary[400] = "", path[ML_PATH_MAX] = "";
    ml_stamp_state s = ml_stamp_key_now(&k) ? ml_stamp_read(&k, date, sizeof date, summary, sizeof summary)
                                            : ML_STAMP_NONE;
    ml_stamp_path(&k, path, sizeof path);
    if (s == ML_STAMP_NONE)
        printf("  self-test: none for this build, GPU, driver and kernels (%s); --device auto runs it first\n",
               k.kernels);
    else
        printf("  self-test: %s on %s (%s); kernels %s; %s\n  --device auto uses %s\n",
               s == ML_STAMP_PASS ? "passed" : "FAILED", date, summary, k.kernels, path,
               s == ML_STAMP_PASS ? "this GPU" : "the CPU");
    return 0;
}

static const struct {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *args; /* for the usage text */
} COMMANDS[] = {
    {"sweep", ml_sweep_main, "CONFIG.yaml [key=value ...] [-o OUTDIR] [--device auto|cpu|cuda] [--resume] [--dry-run]\n"
                             "                [--shard I/N|auto]"},
    {"merge", ml_merge_main, "OUTDIR"},
    {"slurm", ml_slurm_main, "CONFIG.yaml [key=value ...] --shards N [-o OUTDIR] [--partition P] [--account A]\n"
                             "                [--gpus-per-task 1] [--time [D-]HH:MM:SS] [--tflops T] [--device auto|cpu|cuda]\n"
                             "                [--submit]"},
    {"embed", ml_embed_main, "INPUT [-o OUTDIR] [--device auto|cpu|cuda] [--embedding neuron|pre-mlp]\n"
                             "                [--act-frac 0.75] [--max-examples 100] [--threshold 0.5] [--samples 4096]\n"
                             "                [--seed S] [--feature-frac 0.1] [--similar 20] [--probe training|single|pair]"},
    {"explore", ml_explore_main, "OUTDIR... [-o SITE] [--input FILE] [--vocab FILE]"},
    {"sae", ml_sae_main, "CONFIG.yaml [key=value ...] [-o OUTDIR]"},
    {"plot", ml_plot_main, "OUTDIR [OUTDIR...] [-o FIGDIR] [--runs [FOLDER:]RUN_ID,...]"},
    {"watch", ml_watch_main, "OUTDIR [--every SECONDS] [--once] [--all]"},
    {"analyze", ml_analyze_main, "CKPT [-o analysis.json] [--samples 8192] [--on-frac 0.99]"},
    {"selftest", ml_selftest_main, "[--device cuda|cpu] [--quick|--full] [--cached]"},
    {"info", info_main, ""},
};
#define N_COMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

static void usage(FILE *f) {
    fprintf(f, "usage:\n");
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  monolab %s%s%s\n", COMMANDS[i].name, COMMANDS[i].args[0] ? " " : "", COMMANDS[i].args);
    fprintf(f, "\n`monolab COMMAND --help` says what a command does; README.md has the config\n"
               "schema, every option and the output files.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return ML_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, COMMANDS[i].name)) return COMMANDS[i].main(argc - 2, argv + 2);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("monolab %s\n", ML_VERSION);
        return 0;
    }
    char names[256] = "";
    for (int i = 0; i < N_COMMANDS; i++) {
        strncat(names, i ? ", " : "", sizeof names - strlen(names) - 1);
        strncat(names, COMMANDS[i].name, sizeof names - strlen(names) - 1);
    }
    ml_die("unknown command '%s' (commands: %s; see monolab --help)", cmd, names);
}
