/* `monolab sweep`: its command line, then the orchestration: resolve the
 * config, plan groups, train each on the backend, and hand each finished
 * group to the writers of the output files (checkpoint.c, loss_log.c,
 * runs_csv.c). Every file is either replaced atomically or appended with
 * fsync, so a killed sweep leaves only complete results and --resume picks
 * up from there. */
#include "monolab/backend.h"
#include "monolab/checkpoint.h"
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/config.h"
#include "monolab/fsutil.h"
#include "monolab/loss_log.h"
#include "monolab/mem_budget.h"
#include "monolab/outdir_lock.h"
#include "monolab/plan.h"
#include "monolab/progress.h"
#include "monolab/run_outputs.h"
#include "monolab/runs_csv.h"
#include "monolab/shard.h"
#include "monolab/signals.h"
#include "monolab/testhook.h"
#include "monolab/train.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const char *config_path;
    int n_over;
    char **overrides;
    const char *outdir;
    const char *device;         /* --device, resolved once the config is known to be good */
    const ml_backend *backend;
    int resume;
    int dry_run; /* print the plan, write nothing */
    ml_shard shard;   /* --shard I/N: train only that slice, into outdir = root/shards/I */
    const char *root; /* the sweep's OUTDIR */
    int side_by_side; /* MONOLAB_SIDE_BY_SIDE, 0 when unset */
    double live_every; /* MONOLAB_LIVE_LOG_S */
} sweep_opts;

typedef struct {
    const char *outdir;
    ml_progress *progress;
    double live_every; /* live_log_interval() */
} sweep_ctx;

static void write_checkpoints(void *vctx, const ml_group *g, long done, const float *params) {
    const sweep_ctx *ctx = vctx;
    for (int gi = 0; gi < g->G; gi++) ml_checkpoint_write(ctx->outdir, g, gi, done, params + (size_t)gi * g->n_param);
}

/* Seconds between the live loss-log writes of a training group
 * (MONOLAB_LIVE_LOG_S, default 2; 0: at every log interval): often enough
 * to watch, rarely enough that the writes (fsynced) cost nothing. */
static double live_log_interval(void) {
    const char *env = getenv("MONOLAB_LIVE_LOG_S");
    if (!env) return 2.0;
    char *end;
    double v = strtod(env, &end);
    if (end == env || *end || !(v >= 0 && v <= 1e6)) ml_die("MONOLAB_LIVE_LOG_S must be a number of seconds >= 0, got '%s'", env);
    return v;
}

static void on_progress(void *vctx, const ml_group *g, ml_train_result *res, long done) {
    sweep_ctx *ctx = vctx;
    ml_progress_steps(ctx->progress, done);
    double now = ml_now();
    if (!res->live_written) res->live_written = now; /* the group's start */
    if (done < g->shape.steps && now - res->live_written >= ctx->live_every) {
        ml_loss_log_write(ctx->outdir, g, res);
        res->live_written = now;
    }
}

/* MONOLAB_SIDE_BY_SIDE: how many groups train side by side, whatever the
 * backend would choose (0: unset). Read before anything is written. */
static int side_by_side_env(void) {
    const char *env = getenv("MONOLAB_SIDE_BY_SIDE");
    if (!env) return 0;
    char *end;
    long v = strtol(env, &end, 10);
    if (end == env || *end || v < 1 || v > 64)
        ml_die("MONOLAB_SIDE_BY_SIDE must be a whole number of groups from 1 to 64, got '%s'", env);
    return (int)v;
}

/* How many groups like this one (shape r, G models) train side by side:
 * MONOLAB_SIDE_BY_SIDE if set, else the backend's choice; never more than
 * fit in the memory budget together. */
static int wave_width(const ml_backend *be, int side_env, const ml_run *r, int G, size_t budget) {
    int w = side_env;
    if (!w) w = be && be->side_by_side ? be->side_by_side(r, G) : 1;
    /* each group state also holds fixed buffers (the CUDA backend: a 32 MiB
     * cuBLAS workspace, handles, the step table): 64 MiB covers them */
    size_t bytes = ml_group_bytes_per_model(r) * (size_t)G + ((size_t)64 << 20);
    size_t fit = bytes ? budget / bytes : (size_t)w;
    if (fit < (size_t)w) w = fit ? (int)fit : 1;
    return w;
}

/* The waves of a group plan (ml_plan_waves), with each group's width. */
static int plan_waves(const ml_backend *be, int side_env, const ml_run **order, const int *starts, int n_groups, size_t budget,
                      int *waves) {
    int *width = ml_malloc(sizeof(int) * ((size_t)n_groups + 1));
    for (int gi = 0; gi < n_groups; gi++)
        width[gi] = wave_width(be, side_env, order[starts[gi]], starts[gi + 1] - starts[gi], budget);
    int n = ml_plan_waves(order, starts, n_groups, width, waves);
    free(width);
    return n;
}

/* One line on a finished group: its shape and monosemanticity spread. */
static void group_summary(const ml_group *g, const ml_train_result *res, char *buf, size_t len, const char *sep) {
    int n_div = 0;
    double mpf = 0, lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < g->G; i++) {
        n_div += res->diverged[i] >= 0;
        double v = res->mono[i].mono_per_feature;
        mpf += v / g->G;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    snprintf(buf, len, "%s%s N=%d m=%d k=%d B=%d, mono_per_feature mean %.3f [%.3f, %.3f]%s", sep,
             ml_task_name(g->shape.task), g->N, g->m, g->k, g->B, mpf, lo, hi,
             n_div ? ", some diverged (see runs.csv)" : "");
}

/* --dry-run: the groups a sweep (or one shard of it) would train, and their cost. */
static void print_plan(const ml_sweep_config *cfg, const ml_backend *be, int side_env, const ml_shard *shard) {
    const ml_run **all = ml_malloc(sizeof *all * (size_t)cfg->n_runs);
    const ml_run **order = ml_malloc(sizeof *order * (size_t)cfg->n_runs);
    int *starts = ml_malloc(sizeof(int) * ((size_t)cfg->n_runs + 1));
    int *shard_of = ml_calloc((size_t)cfg->n_runs + 1, sizeof(int));
    if (shard->count) ml_shard_assign(cfg, shard->count, shard_of);
    int n_all = 0;
    double sweep_tf = 0;
    for (int i = 0; i < cfg->n_runs; i++) {
        sweep_tf += ml_run_train_flop(&cfg->runs[i]) / 1e12;
        if (shard_of[i] == shard->index) all[n_all++] = &cfg->runs[i];
    }
    size_t budget = ml_mem_budget(be);
    int n = ml_plan_groups(all, n_all, budget, 4096, order, starts);
    int *waves = ml_malloc(sizeof(int) * ((size_t)n + 1));
    int n_waves = plan_waves(be, side_env, order, starts, n, budget, waves), wave = 0;
    double total = 0;
    /* stdout is the plan as plain CSV (`> plan.csv` loads as is); the totals go to stderr */
    if (shard->count) fprintf(stderr, "shard %d/%d of ", shard->index, shard->count);
    fprintf(stderr, "sweep '%s': %d runs in %d groups\n", cfg->name, n_all, n);
    printf("group,models,task,N,m,k,batch,steps,tflop,wave\n");
    for (int gi = 0; gi < n; gi++) {
        const ml_run *r = order[starts[gi]];
        int G = starts[gi + 1] - starts[gi];
        double tf = ml_run_step_flop(r) * r->steps * G / 1e12;
        total += tf;
        while (waves[wave + 1] <= gi) wave++;
        printf("%d,%d,%s,%d,%d,%d,%d,%ld,%.3f,%d\n", gi, G, ml_task_name(r->task), r->N, r->m, r->k, r->batch,
               r->steps, tf, wave);
    }
    fflush(stdout);
    fprintf(stderr, "total: %.3f TFLOP of training", total);
    if (shard->count) fprintf(stderr, " (%.3f TFLOP in the whole sweep of %d runs)", sweep_tf, cfg->n_runs);
    fprintf(stderr, "\n");
    if (n_waves < n) fprintf(stderr, "%d groups train side by side in %d waves\n", n, n_waves);
    free(waves);
    free(shard_of);
    free(all);
    free(order);
    free(starts);
}

static void sweep_run(sweep_opts *o) {
    ml_sweep_config cfg;
    ml_config_load(&cfg, o->config_path, o->n_over, o->overrides);
    /* after the config, so that a bad config is the one line on stderr, not
     * after a note on which backend `auto` chose */
    o->backend = ml_backend_pick(o->device);

    if (o->dry_run) {
        print_plan(&cfg, o->backend, o->side_by_side, &o->shard); /* the budget of the device it will run on */
        ml_config_free(&cfg);
        return;
    }
    char path[ML_PATH_MAX];
    ml_mkdirs(o->outdir);
    ml_outdir_lock(o->outdir); /* before reading or writing anything in it */
    ml_config_check_pin(&cfg, o->outdir, "resume with the same config and overrides, or pick another -o");
    char csv[ML_PATH_MAX];
    snprintf(csv, sizeof csv, "%s/runs.csv", o->outdir);
    if (!o->resume && ml_file_exists(csv))
        ml_die("%s already exists; pass --resume to continue that sweep or choose another -o", csv);
    ml_config_pin(&cfg, o->outdir);

    unsigned char *done = ml_calloc((size_t)cfg.n_runs, 1);
    if (o->resume) {
        ml_runs_csv_scan(csv, &cfg, done);
        ml_resume_check_outputs(o->outdir, csv, &cfg, done);
    }
    unsigned char *skip = ml_calloc((size_t)cfg.n_runs + 1, 1); /* runs of other shards */
    int n_mine = o->shard.count ? ml_shard_prepare(&cfg, &o->shard, o->root, o->outdir, skip) : cfg.n_runs;
    if (!ml_file_exists(csv)) ml_append_sync(csv, ml_runs_csv_header(), strlen(ml_runs_csv_header()));
    snprintf(path, sizeof path, "%s/loss", o->outdir);
    ml_mkdirs(path);

    const ml_run **todo = ml_malloc(sizeof *todo * (size_t)cfg.n_runs);
    const ml_run **order = ml_malloc(sizeof *order * (size_t)cfg.n_runs);
    int *starts = ml_malloc(sizeof(int) * ((size_t)cfg.n_runs + 1));
    int n_todo = 0;
    double work = 0;
    for (int i = 0; i < cfg.n_runs; i++)
        if (!done[i] && !skip[i]) {
            todo[n_todo++] = &cfg.runs[i];
            work += ml_run_train_flop(&cfg.runs[i]);
        }
    if (n_todo < n_mine)
        fprintf(stderr, "[monolab] resume: %d of %d runs already in %s\n", n_mine - n_todo, n_mine, csv);
    size_t budget = ml_mem_budget(o->backend);
    int n_groups = ml_plan_groups(todo, n_todo, budget, 4096, order, starts);
    fprintf(stderr, "[monolab] sweep '%s': %d runs in %d groups on the %s backend -> %s\n", cfg.name, n_todo,
            n_groups, o->backend->name, o->outdir);

    int *waves = ml_malloc(sizeof(int) * ((size_t)n_groups + 1));
    int n_waves = plan_waves(o->backend, o->side_by_side, order, starts, n_groups, budget, waves);
    if (n_waves < n_groups)
        fprintf(stderr, "[monolab] %d groups train side by side in %d waves\n", n_groups, n_waves);

    ml_progress prog;
    ml_progress_init(&prog, n_todo, n_groups, work);
    sweep_ctx ctx = {o->outdir, &prog, o->live_every};
    int n_done = n_mine - n_todo;
    for (int wi = 0; wi < n_waves; wi++) {
        const int g0 = waves[wi], n = waves[wi + 1] - g0;
        if (wi) ml_test_point("group");
        if (ml_stop_signal()) ml_exit_stopped(o->outdir, n_done, n_mine);
        ml_group **gs = ml_malloc(sizeof *gs * (size_t)n);
        ml_train_result *res = ml_malloc(sizeof *res * (size_t)n);
        int wave_G = 0;
        double wave_flop = 0;
        for (int i = 0; i < n; i++) {
            gs[i] = ml_group_create(order + starts[g0 + i], starts[g0 + i + 1] - starts[g0 + i]);
            wave_G += gs[i]->G;
            wave_flop += ml_run_step_flop(&gs[i]->shape) * gs[i]->G;
        }
        ml_progress_group_begin(&prog, wave_G, wave_flop);
        ml_train_groups(o->backend, (const ml_group *const *)gs, n, res, write_checkpoints, on_progress, &ctx);
        if (res[0].interrupted) ml_exit_stopped(o->outdir, n_done, n_mine);
        /* Committed in plan order, whatever order the wave finished in. */
        char desc[4096] = "";
        for (int i = 0; i < n; i++) {
            ml_loss_log_write(o->outdir, gs[i], &res[i]);
            ml_runs_csv_append(csv, gs[i], &res[i]);
            n_done += gs[i]->G;
            size_t len = strlen(desc);
            group_summary(gs[i], &res[i], desc + len, sizeof desc - len, i ? "; " : "");
            ml_train_result_free(&res[i]);
            ml_group_free(gs[i]);
        }
        ml_progress_group_end(&prog, n, desc);
        free(gs);
        free(res);
    }
    ml_progress_finish(&prog);
    free(todo);
    free(order);
    free(starts);
    free(waves);
    free(done);
    free(skip);
    ml_config_free(&cfg);
}

static const char USAGE[] =
    "usage: monolab sweep CONFIG.yaml [key=value ...] [-o OUTDIR] [--device auto|cpu|cuda] [--resume] [--dry-run]\n"
    "                     [--shard I/N|auto]\n"
    "\n"
    "Trains every run of the config's grid; key=value overrides any key by its\n"
    "dotted path (train.lr=0.01, model.k=[64,128], seeds=[3]). OUTDIR defaults to\n"
    "runs/<config name>. --shard I/N trains only shard I (0..N-1) of the sweep into\n"
    "OUTDIR/shards/I (auto: the Slurm array task); `monolab merge OUTDIR` combines\n"
    "the shards. See README.md for the config schema and output files.\n";

enum { OPT_OUT, OPT_DEVICE, OPT_RESUME, OPT_DRY_RUN, OPT_SHARD };
static const ml_cli_opt OPTS[] = {[OPT_OUT] = {"--out", "-o", 1},      [OPT_DEVICE] = {"--device", NULL, 1},
                                  [OPT_RESUME] = {"--resume", NULL, 0}, [OPT_DRY_RUN] = {"--dry-run", NULL, 0},
                                  [OPT_SHARD] = {"--shard", NULL, 1},   {NULL}};

int ml_sweep_main(int argc, char **argv) {
    sweep_opts o = {0};
    const char *device = "auto";
    char **over = ml_calloc((size_t)argc, sizeof(char *));
    const char *outdir = NULL;
    ml_cli cl = {"sweep", USAGE, OPTS, argc, argv, 0};
    char *v;
    for (int k; (k = ml_cli_next(&cl, &v)) != ML_CLI_END;) {
        switch (k) {
        case OPT_OUT: outdir = v; break;
        case OPT_DEVICE: device = v; break;
        case OPT_RESUME: o.resume = 1; break;
        case OPT_DRY_RUN: o.dry_run = 1; break;
        case OPT_SHARD: ml_shard_parse(&o.shard, v); break;
        default: ml_cli_config_arg("sweep", v, &o.config_path, over, &o.n_over);
        }
    }
    if (!o.config_path) ml_cli_usage_die("sweep", "missing CONFIG.yaml", NULL);
    o.overrides = over;
    o.device = device;
    o.side_by_side = side_by_side_env(); /* a bad value exits 2 here, before anything is written */
    o.live_every = live_log_interval();
    char defdir[ML_DIR_MAX];
    if (!outdir) {
        ml_default_outdir(defdir, sizeof defdir, "", o.config_path);
        outdir = defdir;
    }
    o.outdir = o.root = outdir;
    char sharddir[ML_PATH_MAX];
    if (o.shard.count) {
        ml_shard_dir(sharddir, sizeof sharddir, outdir, o.shard.index);
        o.outdir = sharddir;
    }
    ml_signals_install(argc, argv);
    sweep_run(&o);
    free(over);
    return 0;
}
