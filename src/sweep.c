/* `monolab sweep`: its command line, then the orchestration: resolve the config, plan groups, train
 * each on the backend, and write outputs as each group finishes. Every
 * file is either replaced atomically or appended with fsync, so a killed
 * sweep leaves only complete results and --resume picks up from there. */
#include "monolab/backend.h"
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/config.h"
#include "monolab/fsutil.h"
#include "monolab/outdir_lock.h"
#include "monolab/plan.h"
#include "monolab/progress.h"
#include "monolab/runs_csv.h"
#include "monolab/safetensors.h"
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
    const ml_backend *backend;
    int resume;
    int dry_run; /* print the plan, write nothing */
} sweep_opts;

typedef struct {
    const char *outdir;
    ml_progress *progress;
} sweep_ctx;

static size_t mem_budget(const ml_backend *be) {
    const char *env = getenv("MONOLAB_MEM_GB");
    if (env) {
        double gb = atof(env);
        if (!(gb > 0)) ml_die("MONOLAB_MEM_GB must be a positive number of GB, got '%s'", env);
        return (size_t)(gb * 1e9);
    }
    if (be && be->memory_budget) return be->memory_budget();
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    size_t phys = pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)8e9;
    return phys / 2;
}

/* Hyperparameters as strings, for checkpoint metadata. */
static int run_metadata(const ml_run *r, long done, char store[][64], const char **kv) {
    int n = 0;
#define KV(key, ...) (snprintf(store[n], 64, __VA_ARGS__), kv[2 * n] = key, kv[2 * n + 1] = store[n], n++)
    KV("run_id", "%s", r->id);
    KV("step", "%ld", done);
    KV("seed", "%llu", (unsigned long long)r->seed);
    KV("task", "%s", ml_task_name(r->task));
    KV("N", "%d", r->N);
    KV("m", "%d", r->m);
    KV("k", "%d", r->k);
    KV("activation", "%s", ml_act_name(r->act));
    KV("bias_offset", "%.9g", r->bias_offset);
    KV("sampling", "%s", ml_sampling_name(r->sampling));
    KV("eps", "%.9g", r->eps);
    KV("steps", "%ld", r->steps);
    KV("batch", "%d", r->batch);
    KV("lr", "%.9g", r->lr);
    KV("optimizer", "%s", ml_optim_name(r->optimizer));
    KV("schedule", "%s", ml_sched_name(r->schedule));
    KV("t_max", "%d", r->t_max);
    KV("decay", "%.9g", r->decay);
    KV("l1", "%.9g", r->l1);
    KV("weight_decay", "%.9g", r->weight_decay);
    KV("precision", "%s", ml_precision_name(r->precision));
#undef KV
    return n;
}

static void write_checkpoint(void *vctx, const ml_group *g, long done, const float *params) {
    sweep_ctx *ctx = vctx;
    for (int gi = 0; gi < g->G; gi++) {
        const ml_run *r = g->runs[gi];
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/ckpt/%s", ctx->outdir, r->id);
        ml_mkdirs(dir);
        snprintf(path, sizeof path, "%s/step_%06ld.safetensors", dir, done);
        const float *p = params + (size_t)gi * g->n_param;
        /* P is stored as SPEC's m x N; we hold its transpose. */
        float *P = ml_malloc(sizeof(float) * (size_t)g->N * g->m);
        float *Q = g->Qt ? ml_malloc(sizeof(float) * (size_t)g->N * g->m) : NULL;
        for (int i = 0; i < g->N; i++)
            for (int c = 0; c < g->m; c++) {
                P[(size_t)c * g->N + i] = g->Pt[((size_t)gi * g->N + i) * g->m + c];
                if (Q) Q[(size_t)c * g->N + i] = g->Qt[((size_t)gi * g->N + i) * g->m + c];
            }
        ml_st_tensor t[5] = {
            {"W1", "F32", 2, {g->k, g->m}, p + g->off_W1},
            {"b1", "F32", 1, {g->k}, p + g->off_b1},
            {"W2", "F32", 2, {g->out, g->k}, p + g->off_W2},
            {"P", "F32", 2, {g->m, g->N}, P},
            {"Q", "F32", 2, {g->m, g->N}, Q},
        };
        char store[32][64];
        const char *kv[64];
        int n_meta = run_metadata(r, done, store, kv);
        ml_st_write(path, Q ? 5 : 4, t, n_meta, kv);
        free(P);
        free(Q);
    }
}

static void on_progress(void *vctx, const ml_group *g, long done) {
    (void)g;
    ml_progress_steps(((sweep_ctx *)vctx)->progress, done);
}

static void write_loss_logs(const char *outdir, const ml_group *g, const ml_train_result *res) {
    for (int gi = 0; gi < g->G; gi++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/loss/%s.csv", outdir, g->runs[gi]->id);
        ml_atomic_file f;
        ml_atomic_open(&f, path);
        ml_atomic_printf(&f, "step,loss,lr\n");
        for (int r = 0; r < res->n_log; r++)
            ml_atomic_printf(&f, "%ld,%.9g,%.9g\n", res->log_step[r], res->log_loss[(size_t)r * g->G + gi],
                             res->log_lr[(size_t)r * g->G + gi]);
        ml_atomic_commit(&f);
    }
}

/* Rows of one group, in run order, appended with one write and one fsync. */
static void append_rows(const char *csv, const ml_group *g, const ml_train_result *res) {
    size_t cap = 1024 * (size_t)g->G, n = 0;
    char *buf = ml_malloc(cap);
    for (int gi = 0; gi < g->G; gi++) {
        const ml_run *r = g->runs[gi];
        const ml_mono_stats *s = &res->mono[gi];
        int w = snprintf(buf + n, cap - n,
                         "%s,%llu,%s,%d,%d,%d,%d,%s,%.9g,%s,%.9g,%ld,%d,%.9g,%s,%s,%d,%.9g,%.9g,%.9g,%s,"
                         "%.9g,%.9g,%d,%.9g,%.9g,%d,%.9g,%.9g,%ld,%.3f\n",
                         r->id, (unsigned long long)r->seed, ml_task_name(r->task), r->N, r->m, r->k,
                         ml_run_out_dim(r), ml_act_name(r->act), r->bias_offset, ml_sampling_name(r->sampling),
                         r->eps, r->steps, r->batch, r->lr, ml_optim_name(r->optimizer),
                         ml_sched_name(r->schedule), r->t_max, r->decay, r->l1, r->weight_decay,
                         ml_precision_name(r->precision), res->final_loss[gi], res->eval_loss[gi], s->mono_neurons,
                         s->mono_per_feature, s->mono_per_neuron, s->dead_neurons, s->bias_mono_mean,
                         s->bias_poly_mean, res->diverged[gi], res->seconds / g->G);
        if (w < 0 || (size_t)w >= cap - n) ml_fatal("internal: runs.csv row too long");
        n += (size_t)w;
    }
    ml_append_sync(csv, buf, n);
    free(buf);
}

static double flops_per_step(const ml_run *r) {
    return 2.0 * r->batch * r->k * (2.0 * r->m + 3.0 * ml_run_out_dim(r));
}

/* --dry-run: the groups a sweep would train, and their cost. */
static void print_plan(const ml_sweep_config *cfg, const ml_backend *be) {
    const ml_run **all = ml_malloc(sizeof *all * (size_t)cfg->n_runs);
    const ml_run **order = ml_malloc(sizeof *order * (size_t)cfg->n_runs);
    int *starts = ml_malloc(sizeof(int) * ((size_t)cfg->n_runs + 1));
    for (int i = 0; i < cfg->n_runs; i++) all[i] = &cfg->runs[i];
    int n = ml_plan_groups(all, cfg->n_runs, mem_budget(be), 4096, order, starts);
    double total = 0;
    printf("sweep '%s': %d runs in %d groups\n", cfg->name, cfg->n_runs, n);
    printf("group,models,task,N,m,k,batch,steps,tflop\n");
    for (int gi = 0; gi < n; gi++) {
        const ml_run *r = order[starts[gi]];
        int G = starts[gi + 1] - starts[gi];
        double tf = flops_per_step(r) * r->steps * G / 1e12;
        total += tf;
        printf("%d,%d,%s,%d,%d,%d,%d,%ld,%.3f\n", gi, G, ml_task_name(r->task), r->N, r->m, r->k, r->batch, r->steps,
               tf);
    }
    printf("total: %.3f TFLOP of training\n", total);
    free(all);
    free(order);
    free(starts);
}

static void sweep_run(const sweep_opts *o) {
    ml_sweep_config cfg;
    ml_config_load(&cfg, o->config_path, o->n_over, o->overrides);

    if (o->dry_run) {
        print_plan(&cfg, o->backend); /* the budget of the device it will run on */
        ml_config_free(&cfg);
        return;
    }
    char path[4200];
    ml_mkdirs(o->outdir);
    ml_outdir_lock(o->outdir); /* before reading or writing anything in it */
    snprintf(path, sizeof path, "%s/config.yaml", o->outdir);
    char *old = ml_read_file(path, NULL);
    if (old && strcmp(old, cfg.resolved_yaml))
        ml_die("%s holds a different resolved config; resume with the same config and overrides, or pick another -o",
               path);
    char csv[4200];
    snprintf(csv, sizeof csv, "%s/runs.csv", o->outdir);
    if (!o->resume && ml_file_exists(csv))
        ml_die("%s already exists; pass --resume to continue that sweep or choose another -o", csv);
    free(old);
    ml_atomic_file f;
    ml_atomic_open(&f, path);
    ml_atomic_write(&f, cfg.resolved_yaml, strlen(cfg.resolved_yaml));
    ml_atomic_commit(&f);

    unsigned char *done = ml_calloc((size_t)cfg.n_runs, 1);
    if (o->resume) ml_runs_csv_scan(csv, cfg.n_runs, done);
    if (!ml_file_exists(csv)) ml_append_sync(csv, ml_runs_csv_header(), strlen(ml_runs_csv_header()));
    snprintf(path, sizeof path, "%s/loss", o->outdir);
    ml_mkdirs(path);

    const ml_run **todo = ml_malloc(sizeof *todo * (size_t)cfg.n_runs);
    const ml_run **order = ml_malloc(sizeof *order * (size_t)cfg.n_runs);
    int *starts = ml_malloc(sizeof(int) * ((size_t)cfg.n_runs + 1));
    int n_todo = 0;
    double work = 0;
    for (int i = 0; i < cfg.n_runs; i++)
        if (!done[i]) {
            todo[n_todo++] = &cfg.runs[i];
            work += flops_per_step(&cfg.runs[i]) * cfg.runs[i].steps;
        }
    if (n_todo < cfg.n_runs)
        fprintf(stderr, "[monolab] resume: %d of %d runs already in %s\n", cfg.n_runs - n_todo, cfg.n_runs, csv);
    int n_groups = ml_plan_groups(todo, n_todo, mem_budget(o->backend), 4096, order, starts);
    fprintf(stderr, "[monolab] sweep '%s': %d runs in %d groups on the %s backend -> %s\n", cfg.name, n_todo,
            n_groups, o->backend->name, o->outdir);

    ml_progress prog;
    ml_progress_init(&prog, n_todo, n_groups, work);
    sweep_ctx ctx = {o->outdir, &prog};
    int n_done = cfg.n_runs - n_todo;
    for (int gi = 0; gi < n_groups; gi++) {
        if (gi) ml_test_point("group");
        if (ml_stop_signal()) ml_exit_stopped(o->outdir, n_done, cfg.n_runs);
        int G = starts[gi + 1] - starts[gi];
        ml_group *g = ml_group_create(order + starts[gi], G);
        ml_progress_group_begin(&prog, G, flops_per_step(&g->shape) * G);
        ml_train_result res;
        ml_train_group(o->backend, g, &res, write_checkpoint, on_progress, &ctx);
        if (res.interrupted) ml_exit_stopped(o->outdir, n_done, cfg.n_runs);
        write_loss_logs(o->outdir, g, &res);
        append_rows(csv, g, &res);
        n_done += G;
        char desc[256];
        int n_div = 0;
        double mpf = 0, lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < G; i++) {
            n_div += res.diverged[i] >= 0;
            double v = res.mono[i].mono_per_feature;
            mpf += v / G;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        snprintf(desc, sizeof desc, "%s N=%d m=%d k=%d B=%d, mono_per_feature mean %.3f [%.3f, %.3f]%s",
                 ml_task_name(g->shape.task), g->N, g->m, g->k, g->B, mpf, lo, hi,
                 n_div ? ", some diverged (see runs.csv)" : "");
        ml_progress_group_end(&prog, desc);
        ml_train_result_free(&res);
        ml_group_free(g);
    }
    ml_progress_finish(&prog);
    free(todo);
    free(order);
    free(starts);
    free(done);
    ml_config_free(&cfg);
}

static const char USAGE[] =
    "usage: monolab sweep CONFIG.yaml [key=value ...] [-o OUTDIR] [--device auto|cpu|cuda] [--resume] [--dry-run]\n"
    "\n"
    "Trains every run of the config's grid; key=value overrides any key by its\n"
    "dotted path (train.lr=0.01, model.k=[64,128], seeds=[3]). OUTDIR defaults to\n"
    "runs/<config name>. See README.md for the config schema and output files.\n";

int ml_sweep_main(int argc, char **argv) {
    sweep_opts o = {0};
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
            printf("%s", USAGE);
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
        ml_default_outdir(defdir, sizeof defdir, "", o.config_path);
        outdir = defdir;
    }
    o.outdir = outdir;
    ml_signals_install(argc, argv);
    sweep_run(&o);
    free(over);
    return 0;
}
