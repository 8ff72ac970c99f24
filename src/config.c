/* Config schema, validation, overrides and grid expansion.
 *
 * Every leaf may be a list, which makes it a grid axis (or part of a zipped
 * one: config_axes.c); `seeds` is the one exception (an int means 0..n-1).
 * The grid is the cartesian product of the axes in schema order with seeds
 * innermost, so the seeds of one point sit next to each other in runs.csv. */
#include "monolab/config.h"
#include "monolab/common.h"
#include "monolab/config_axes.h"
#include "monolab/config_schema.h"
#include "monolab/run_ids.h"
#include "monolab/strbuf.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(ml_run, f)
#define BIG 1e300
#define ALL (ML_RF_CSV | ML_RF_META | ML_RF_PLOT)
/* Defaults are the paper's k=1024 run (docs/science.md §1.8, §1.10). */
const ml_run_field ML_RUN_FIELDS[ML_N_RUN_FIELDS] = {
    {"seed", NULL, RF_SEED, OFF(seed), NULL, NULL, 0, 0, 0, ML_RF_CSV | ML_RF_META, 0},
    {"task", "task", RF_ENUM, OFF(task), ML_TASK_NAMES, "decoder", 0, 0, 0, ALL, 0},
    {"N", "model.N", RF_INT, OFF(N), NULL, "512", 1, 1 << 20, 0, ALL, 1},
    {"m", "model.m", RF_INT, OFF(m), NULL, "64", 1, 1 << 20, 0, ALL, 1},
    {"k", "model.k", RF_INT, OFF(k), NULL, "1024", 1, 1 << 24, 0, ALL, 1},
    {"out", NULL, RF_OUT, 0, NULL, NULL, 0, 0, 0, ML_RF_CSV, 0},
    {"activation", "model.activation", RF_ENUM, OFF(act), ML_ACT_NAMES, "relu", 0, 0, 0, ALL, 0},
    {"bias_offset", "model.bias_offset", RF_DOUBLE, OFF(bias_offset), NULL, "0.0", -BIG, BIG, 0, ALL, 0},
    {"sampling", "data.sampling", RF_ENUM, OFF(sampling), ML_SAMPLING_NAMES, "uniform", 0, 0, 0, ALL, 0},
    {"eps", "data.eps", RF_DOUBLE, OFF(eps), NULL, "0.015625", 0, 1, 1, ALL, 1},
    {"steps", "train.steps", RF_LONG, OFF(steps), NULL, "131072", 1, 2147483647.0, 0, ALL, 1},
    {"batch", "train.batch", RF_BATCH, OFF(batch), NULL, "8192", 1, 1 << 30, 0, ALL, 1},
    {"lr", "train.lr", RF_DOUBLE, OFF(lr), NULL, "0.003", 0, BIG, 0, ALL, 1},
    {"optimizer", "train.optimizer", RF_ENUM, OFF(optimizer), ML_OPTIM_NAMES, "lamb", 0, 0, 0, ALL, 0},
    {"schedule", "train.schedule", RF_ENUM, OFF(schedule), ML_SCHED_NAMES, "cosine", 0, 0, 0, ALL, 0},
    {"t_max", "train.t_max", RF_INT, OFF(t_max), NULL, "512", 1, 2147483647.0, 0, ALL, 1},
    {"decay", "train.decay", RF_DOUBLE, OFF(decay), NULL, "0.0", 0, BIG, 0, ALL, 1},
    {"l1", "train.l1", RF_DOUBLE, OFF(l1), NULL, "0.0", 0, BIG, 0, ALL, 1},
    {"weight_decay", "train.weight_decay", RF_DOUBLE, OFF(weight_decay), NULL, "0.01", 0, BIG, 0, ALL, 1},
    {"precision", "train.precision", RF_ENUM, OFF(precision), ML_PRECISION_NAMES, "tf32", 0, 0, 0, ALL, 0},
    {"log_every", "train.log_every", RF_INT, OFF(log_every), NULL, "16", 1, 1 << 30, 0, 0, 0},
    {"eval_batch", "eval.batch", RF_INT, OFF(eval_batch), NULL, "65536", 1, 1 << 30, 0, 0, 0},
    {"checkpoints", "checkpoints", RF_ENUM, OFF(checkpoints), ML_CKPT_NAMES, "log2", 0, 0, 0, 0, 0},
};
#define NFIELDS ML_N_RUN_FIELDS
#define SCHEMA ML_RUN_FIELDS

int ml_run_out_dim(const ml_run *r) { return r->task == TASK_REPROJECTOR ? r->m : r->N; }

void ml_run_field_format(const ml_run *r, const ml_run_field *f, char *buf, size_t n) {
    const char *base = (const char *)r;
    switch (f->kind) {
    case RF_SEED: snprintf(buf, n, "%llu", (unsigned long long)r->seed); return;
    case RF_INT:
    case RF_BATCH: snprintf(buf, n, "%d", *(const int *)(base + f->off)); return;
    case RF_LONG: snprintf(buf, n, "%ld", *(const long *)(base + f->off)); return;
    case RF_DOUBLE: snprintf(buf, n, "%.9g", *(const double *)(base + f->off)); return;
    case RF_ENUM: snprintf(buf, n, "%s", f->names[*(const int *)(base + f->off)]); return;
    case RF_OUT: snprintf(buf, n, "%d", ml_run_out_dim(r)); return;
    }
}

typedef ml_run_field field;

/* Top-level keys that are not grid fields. max_runs is a safety limit, not
 * part of the experiment: it is left out of the resolved config, so raising
 * it never blocks a --resume. */
static const char *const EXTRA_KEYS[] = {"name", "seeds", "zip", "max_runs", NULL};
#define DEFAULT_MAX_RUNS 1000000L

/* The config keys of the run-field table, as the loader's schema: every
 * grid field may be a list (a grid axis). key_field[i] is keys[i]'s row
 * of ML_RUN_FIELDS. */
static ml_config_key keys[NFIELDS];
static int key_field[NFIELDS];
static ml_config_schema schema = {keys, 0, EXTRA_KEYS};

static void build_schema(void) {
    if (schema.n_keys) return;
    static const ml_key_type TYPE[] = {[RF_INT] = ML_KEY_INT, [RF_LONG] = ML_KEY_LONG, [RF_DOUBLE] = ML_KEY_DOUBLE,
                                       [RF_ENUM] = ML_KEY_ENUM, [RF_BATCH] = ML_KEY_INT_OR_AUTO};
    for (int i = 0; i < NFIELDS; i++) {
        const field *f = &SCHEMA[i];
        if (!f->path) continue; /* seed, out: not config keys */
        key_field[schema.n_keys] = i;
        keys[schema.n_keys++] = (ml_config_key){f->path, TYPE[f->kind], f->off, 0, f->names, f->def,
                                                f->lo, f->hi, f->lo_open, 1 << 30};
    }
}

static long max_runs_of(const ynode *root, const char *path) {
    static const ml_config_key MAX_RUNS = {"max_runs", ML_KEY_LONG, 0, 0, NULL, NULL, 1, 2147483647.0, 0, 0};
    long max_runs = DEFAULT_MAX_RUNS;
    const ynode *mr = yn_map_get(root, "max_runs");
    if (mr) ml_config_value(&MAX_RUNS, mr, path, &max_runs);
    return max_runs;
}

static char *name_of(const ynode *root, const char *path) {
    const ynode *name = yn_map_get(root, "name");
    if (name && name->kind != YN_SCALAR) ml_die("%s: 'name' must be a string", ml_config_where(path, name->line));
    if (name) return ml_strdup(name->text);
    const char *s = strrchr(path, '/'); /* the config file's name without its extension */
    s = s ? s + 1 : path;
    char *r = ml_strdup(s), *dot = strrchr(r, '.');
    if (dot && dot != r) *dot = 0;
    return r;
}

/* Line of a key's node for cross-field messages (0: default or override). */
static int line_of(const ynode *const *vals, const char *path) {
    for (int i = 0; i < schema.n_keys; i++)
        if (!strcmp(keys[i].path, path)) return vals[i] ? vals[i]->line : 0;
    return 0;
}

/* Cross-field rules that no single key can check. */
static void check_run(const ml_run *run, const ynode *const *vals, const char *path) {
    if (run->m > run->N)
        ml_die("%s: model.m (%d) must be <= model.N (%d): the embedder P has orthonormal columns in R^N",
               ml_config_where(path, line_of(vals, "model.m")), run->m, run->N);
    if (run->decay * run->lr >= 1.0)
        ml_die("%s: train.decay * train.lr must be < 1 (bias decay multiplies b1 by 1 - decay*lr), got %g",
               ml_config_where(path, line_of(vals, "train.decay")), run->decay * run->lr);
}

/* Run r of the grid: the cartesian product of the axes, seeds innermost. */
static void expand_run(ml_run *run, long r, const ynode *const *vals, const ml_config_axes *ax, const uint64_t *seeds,
                       long n_seeds, ynode *const *defaults, const char *path) {
    long rem = r / n_seeds;
    int idx[ML_MAX_CONFIG_KEYS];
    for (int a = ax->n_axes - 1; a >= 0; a--) {
        idx[a] = (int)(rem % ax->count[a]);
        rem /= ax->count[a];
    }
    for (int i = 0; i < schema.n_keys; i++) {
        const ynode *v = vals[i] ? vals[i] : defaults[i];
        if (v->kind == YN_SEQ) v = v->items[ax->axis_of[i] >= 0 ? idx[ax->axis_of[i]] : 0];
        ml_config_value(&keys[i], v, path, (char *)run + keys[i].off);
    }
    run->seed = seeds ? seeds[r % n_seeds] : (uint64_t)(r % n_seeds);
    run->index = (int)r;
    if (run->batch == -1) { /* "auto": hold B*k at 2^23 (docs/science.md §1.8) */
        int lg = 0;
        while ((1L << lg) < run->k) lg++;
        run->batch = lg >= 23 ? 1 : 1 << (23 - lg);
    }
    ml_run_id_make(run); /* from the resolved settings: after batch "auto" */
    check_run(run, vals, path);
}

/* The canonical resolved config: every key, defaults filled in, each value
 * as the config wrote it. */
static char *resolved_yaml(const char *name, const uint64_t *seeds, long n_seeds, const ml_config_axes *ax,
                           const ynode *const *vals) {
    ml_sbuf b = {0};
    ml_sb_printf(&b, "name: \"");
    for (const char *s = name; *s; s++) {
        if (*s == '"' || *s == '\\') ml_sb_printf(&b, "\\%c", *s);
        else ml_sb_printf(&b, "%c", (unsigned char)*s < 0x20 ? ' ' : *s);
    }
    ml_sb_printf(&b, "\"\nseeds: [");
    for (long i = 0; i < n_seeds; i++)
        ml_sb_printf(&b, "%s%llu", i ? ", " : "", seeds ? (unsigned long long)seeds[i] : (unsigned long long)i);
    ml_sb_printf(&b, "]\n");
    ml_config_axes_zip_yaml(ax, &b); /* nothing without a zip: older folders' config.yaml stays the same text */
    for (int i = 0; i < schema.n_keys; i++) {
        const char *p = keys[i].path, *dot = strchr(p, '.');
        const char *prev = i ? keys[i - 1].path : "", *pdot = strchr(prev, '.');
        int new_section = dot && !(pdot && pdot - prev == dot - p && !strncmp(prev, p, (size_t)(dot - p)));
        if (new_section) ml_sb_printf(&b, "%.*s:\n", (int)(dot - p), p);
        ml_sb_printf(&b, dot ? "  %s: " : "%s: ", dot ? dot + 1 : p);
        const ynode *v = vals[i];
        if (!v) ml_sb_printf(&b, "%s", keys[i].def);
        else if (v->kind == YN_SCALAR) ml_sb_printf(&b, "%s", v->text);
        else {
            ml_sb_printf(&b, "[");
            for (int j = 0; j < v->n; j++) ml_sb_printf(&b, "%s%s", j ? ", " : "", v->items[j]->text);
            ml_sb_printf(&b, "]");
        }
        ml_sb_printf(&b, "\n");
    }
    return b.p;
}

void ml_config_load(ml_sweep_config *cfg, const char *path, int n_over, char **overrides) {
    memset(cfg, 0, sizeof *cfg);
    build_schema();
    const ynode *vals[NFIELDS];
    ynode *root = ml_config_read(&schema, path, n_over, overrides, vals);
    long max_runs = max_runs_of(root, path);
    cfg->name = name_of(root, path);
    uint64_t *seeds;
    long n_seeds = ml_config_seeds(root, path, 0, &seeds);

    ml_config_axes ax;
    ml_config_axes_find(&schema, root, vals, path, &ax);
    double total = n_seeds; /* exact far beyond any limit; only for the message */
    for (int a = 0; a < ax.n_axes; a++) total *= ax.count[a];
    if (total > (double)max_runs)
        ml_die("%s: the grid expands to %.0f runs, more than max_runs = %ld; if you mean it, raise the limit "
               "(max_runs: N in the config, or the override max_runs=N)",
               path, total, max_runs);
    cfg->n_runs = (int)total;
    cfg->runs = ml_calloc((size_t)total, sizeof(ml_run));
    ynode *defaults[NFIELDS];
    for (int i = 0; i < schema.n_keys; i++) defaults[i] = yn_parse_string(keys[i].def, "schema default");
    for (long r = 0; r < cfg->n_runs; r++) expand_run(&cfg->runs[r], r, vals, &ax, seeds, n_seeds, defaults, path);
    for (int i = 0; i < schema.n_keys; i++) yn_free(defaults[i]);
    cfg->ids = ml_run_index_new(cfg);
    ml_run_index_check_unique(cfg->ids, cfg, path);
    cfg->resolved_yaml = resolved_yaml(cfg->name, seeds, n_seeds, &ax, vals);
    ml_sbuf axes = {0};
    ml_config_axes_describe(&ax, &schema, n_seeds, &axes);
    cfg->axes = axes.p;
    free(seeds);
    yn_free(root);
}

void ml_config_free(ml_sweep_config *cfg) {
    free(cfg->name);
    free(cfg->resolved_yaml);
    free(cfg->axes);
    free(cfg->runs);
    ml_run_index_free(cfg->ids);
    memset(cfg, 0, sizeof *cfg);
}
