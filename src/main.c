/* monolab: the one binary. Subcommands: sweep, info. */
#include "monolab/backend.h"
#include "monolab/common.h"
#include "monolab/sweep.h"
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ml_analyze_main(int argc, char **argv);
int ml_plot_main(int argc, char **argv);
int ml_embed_main(int argc, char **argv);
int ml_explore_main(int argc, char **argv);

#ifndef ML_VERSION
#define ML_VERSION "0.1.0"
#endif

static void usage(FILE *f) {
    fprintf(f,
            "usage:\n"
            "  monolab sweep CONFIG.yaml [key=value ...] [-o OUTDIR] [--device auto|cpu|cuda] [--resume] [--dry-run]\n"
            "  monolab embed INPUT [-o OUTDIR] [--device auto|cpu|cuda] [--embedding neuron|pre-mlp]\n"
            "                [--act-frac 0.75] [--max-examples 100] [--threshold 0.5] [--samples 4096]\n"
            "  monolab explore OUTDIR... [-o SITE] [--input FILE] [--vocab FILE]\n"
            "  monolab plot OUTDIR [--runs r000001,...]\n"
            "  monolab analyze CKPT [-o analysis.json] [--samples 8192] [--on-frac 0.99]\n"
            "  monolab info\n"
            "\n"
            "sweep trains every run of the config's grid; key=value overrides any key by its\n"
            "dotted path (train.lr=0.01, model.k=[64,128], seeds=[3]). OUTDIR defaults to\n"
            "runs/<config name>. See README.md for the config schema and output files.\n");
}

static int cmd_sweep(int argc, char **argv) {
    ml_sweep_opts o = {0};
    const char *device = "auto";
    char **over = ml_calloc((size_t)argc, sizeof(char *));
    char *outdir = NULL;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-o") || !strcmp(a, "--out")) {
            if (++i >= argc) ml_die("%s needs a directory", a);
            outdir = argv[i];
        } else if (!strcmp(a, "--device")) {
            if (++i >= argc) ml_die("--device needs auto, cpu or cuda");
            device = argv[i];
        } else if (!strncmp(a, "--device=", 9)) {
            device = a + 9;
        } else if (!strcmp(a, "--resume")) {
            o.resume = 1;
        } else if (!strcmp(a, "--dry-run")) {
            o.dry_run = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (a[0] == '-') {
            ml_die("sweep: unknown option '%s' (see monolab --help)", a);
        } else if (!o.config_path) {
            o.config_path = a;
        } else if (strchr(a, '=')) {
            over[o.n_over++] = argv[i];
        } else {
            ml_die("sweep: unexpected argument '%s' (overrides look like key=value)", a);
        }
    }
    if (!o.config_path) ml_die("sweep: missing CONFIG.yaml (see monolab --help)");
    o.overrides = over;
    o.backend = ml_backend_pick(device);
    char defdir[1024];
    if (!outdir) {
        const char *s = strrchr(o.config_path, '/');
        s = s ? s + 1 : o.config_path;
        snprintf(defdir, sizeof defdir, "runs/%.*s", (int)strcspn(s, "."), s);
        outdir = defdir;
    }
    o.outdir = outdir;
    ml_sweep_run(&o);
    free(over);
    return 0;
}

extern char *openblas_get_config(void);

static int cmd_info(void) {
    char reason[256] = "";
    printf("monolab %s\n", ML_VERSION);
    printf("cpu backend: OpenBLAS (%s), %d OpenMP threads\n", openblas_get_config(), omp_get_max_threads());
    const ml_backend *cuda = ml_backend_cuda_get(reason, sizeof reason);
    if (cuda) printf("cuda backend: %s\n", reason);
    else printf("cuda backend: unavailable (%s)\n", reason);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return ML_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "sweep")) return cmd_sweep(argc - 2, argv + 2);
    if (!strcmp(cmd, "info")) return cmd_info();
    if (!strcmp(cmd, "analyze")) return ml_analyze_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "plot")) return ml_plot_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "embed")) return ml_embed_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "explore")) return ml_explore_main(argc - 2, argv + 2);
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("monolab %s\n", ML_VERSION);
        return 0;
    }
    ml_die("unknown command '%s' (commands: sweep, embed, explore, plot, analyze, info; see monolab --help)", cmd);
}
