/* Config schema, validation, overrides and grid expansion.
 *
 * Every leaf may be a list, which makes it a grid axis; `seeds` is the one
 * exception (an int means 0..n-1). The grid is the cartesian product in
 * schema order with seeds innermost, so the seeds of one point sit next to
 * each other in runs.csv. */
#include "monolab/config.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/yaml_tree.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
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
typedef ml_run_field field;
static const char *const SECTIONS[] = {"model", "data", "train", "eval", NULL};

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

/* Where a node came from, for messages: "file:line", or the command line
 * (line 0) for values that came from key=value overrides. */
static const char *where(const char *file, int line) {
    static char buf[1024];
    if (line > 0) snprintf(buf, sizeof buf, "%s:%d", file, line);
    else snprintf(buf, sizeof buf, "command-line override");
    return buf;
}

static const field *find_field(const char *path) {
    for (int i = 0; i < NFIELDS; i++)
        if (SCHEMA[i].path && !strcmp(SCHEMA[i].path, path)) return &SCHEMA[i];
    return NULL;
}

/* Top-level keys that are not grid fields. max_runs is a safety limit, not
 * part of the experiment: it is left out of the resolved config, so raising
 * it never blocks a --resume. */
static int is_meta_key(const char *name) {
    return !strcmp(name, "name") || !strcmp(name, "seeds") || !strcmp(name, "max_runs");
}
#define DEFAULT_MAX_RUNS 1000000L

static int is_section(const char *name) {
    for (int i = 0; SECTIONS[i]; i++)
        if (!strcmp(SECTIONS[i], name)) return 1;
    return 0;
}

/* "0.25", "1e-3" or "1/64". Returns 0 on success. */
static int parse_number(const char *s, double *out) {
    char *end;
    errno = 0;
    double a = strtod(s, &end);
    if (end == s || errno) return -1;
    if (*end == '/') {
        const char *q = end + 1;
        double b = strtod(q, &end);
        if (end == q || b == 0) return -1;
        a /= b;
    }
    while (isspace((unsigned char)*end)) end++;
    if (*end) return -1;
    *out = a;
    return 0;
}

static int parse_int(const char *s, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || errno || *end) return -1;
    *out = v;
    return 0;
}

static void known_keys(char *buf, size_t n, const char *section) {
    buf[0] = 0;
    size_t sl = section ? strlen(section) : 0;
    for (int i = 0; i < NFIELDS; i++) {
        const char *p = SCHEMA[i].path;
        if (!p) continue;
        const char *dot = strchr(p, '.');
        const char *leaf = NULL;
        if (section && dot && (size_t)(dot - p) == sl && !strncmp(p, section, sl)) leaf = dot + 1;
        if (!section && !dot) leaf = p;
        if (leaf) {
            strncat(buf, buf[0] ? ", " : "", n - strlen(buf) - 1);
            strncat(buf, leaf, n - strlen(buf) - 1);
        }
    }
    if (!section) strncat(buf, ", name, seeds, max_runs, model, data, train, eval", n - strlen(buf) - 1);
}

/* Check one scalar against its field and write it into run (if non-NULL). */
static void apply_scalar(const field *f, const ynode *v, const char *file, ml_run *run) {
    if (v->kind != YN_SCALAR)
        ml_die("%s: '%s' must be a single value or a flat list", where(file, v->line), f->path);
    const char *s = v->text;
    char *base = (char *)run;
    switch (f->kind) {
    case RF_ENUM: {
        int i = ml_enum_parse(f->names, s);
        if (i >= 0) {
            if (run) *(int *)(base + f->off) = i;
            return;
        }
        char opts[256];
        ml_enum_list(f->names, " | ", opts, sizeof opts);
        ml_die("%s: '%s' must be one of %s, got '%s'", where(file, v->line), f->path, opts, s);
    }
    case RF_BATCH:
        if (!strcmp(s, "auto")) {
            if (run) *(int *)(base + f->off) = -1; /* resolved once k is known */
            return;
        }
        /* fall through */
    case RF_INT:
    case RF_LONG: {
        long x;
        if (v->quoted || parse_int(s, &x))
            ml_die("%s: '%s' must be an integer%s, got '%s'", where(file, v->line), f->path,
                   f->kind == RF_BATCH ? " or \"auto\"" : "", s);
        if (x < f->lo || x > f->hi)
            ml_die("%s: '%s' must be in [%.0f, %.0f], got %ld", where(file, v->line), f->path, f->lo, f->hi, x);
        if (!run) return;
        if (f->kind == RF_LONG) *(long *)(base + f->off) = x;
        else *(int *)(base + f->off) = (int)x;
        return;
    }
    case RF_DOUBLE: {
        double x;
        if (v->quoted || parse_number(s, &x) || !isfinite(x))
            ml_die("%s: '%s' must be a finite number, got '%s'", where(file, v->line), f->path, s);
        if ((f->lo_open ? x <= f->lo : x < f->lo) || x > f->hi) {
            if (f->hi >= BIG) ml_die("%s: '%s' must be >= %g, got %g", where(file, v->line), f->path, f->lo, x);
            ml_die("%s: '%s' must be in %s%g, %g], got %g", where(file, v->line), f->path,
                   f->lo_open ? "(" : "[", f->lo, f->hi, x);
        }
        if (run) *(double *)(base + f->off) = x;
        return;
    }
    case RF_SEED:
    case RF_OUT: break; /* not config keys */
    }
}

static void validate_tree(const ynode *root, const char *file) {
    if (root->kind != YN_MAP) ml_die("%s: a config must be a mapping of keys", where(file, root->line));
    char known[1024];
    for (int i = 0; i < root->n; i++) {
        const char *key = root->keys[i];
        const ynode *v = root->items[i];
        if (is_meta_key(key)) continue;
        if (is_section(key)) {
            if (v->kind != YN_MAP) ml_die("%s: '%s' must be a mapping", where(file, root->key_lines[i]), key);
            for (int j = 0; j < v->n; j++) {
                char path[256];
                snprintf(path, sizeof path, "%s.%s", key, v->keys[j]);
                if (!find_field(path)) {
                    known_keys(known, sizeof known, key);
                    ml_die("%s: unknown key '%s' (known in %s: %s)", where(file, v->key_lines[j]), path, key, known);
                }
            }
            continue;
        }
        if (!find_field(key)) {
            known_keys(known, sizeof known, NULL);
            ml_die("%s: unknown key '%s' (known: %s)", where(file, root->key_lines[i]), key, known);
        }
    }
    for (int i = 0; i < NFIELDS; i++) {
        const field *f = &SCHEMA[i];
        if (!f->path) continue;
        const ynode *v = root;
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", f->path);
        for (char *tok = strtok(tmp, "."); tok && v; tok = strtok(NULL, ".")) v = yn_map_get(v, tok);
        if (!v) continue;
        if (v->kind == YN_SEQ) {
            if (v->n == 0) ml_die("%s: '%s' is an empty list", where(file, v->line), f->path);
            for (int j = 0; j < v->n; j++) apply_scalar(f, v->items[j], file, NULL);
        } else {
            apply_scalar(f, v, file, NULL);
        }
    }
}

/* "model.k=[64,128]" -> tree edit. The value is parsed as YAML so lists work. */
static void apply_override(ynode *root, const char *text) {
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) ml_die("override '%s' must look like key=value (e.g. train.lr=0.01)", text);
    char key[256];
    size_t kl = (size_t)(eq - text);
    if (kl >= sizeof key) ml_die("override '%s': key too long", text);
    memcpy(key, text, kl);
    key[kl] = 0;
    char origin_s[512];
    snprintf(origin_s, sizeof origin_s, "override '%s'", text);
    ynode *val = yn_parse_string(eq + 1, origin_s);
    if (!val) ml_die("override '%s' has an empty value", text);
    /* Mark as coming from the command line so messages say so. */
    val->line = 0;
    for (int i = 0; i < val->n; i++) val->items[i]->line = 0;
    if (val->kind == YN_MAP && val->n == 0) ml_die("override '%s' has an empty value", text);
    if (!is_meta_key(key) && !find_field(key)) {
        char known[1024];
        char sec[256];
        const char *dot = strchr(key, '.');
        snprintf(sec, sizeof sec, "%.*s", dot ? (int)(dot - key) : 0, key);
        known_keys(known, sizeof known, dot && is_section(sec) ? sec : NULL);
        ml_die("override '%s': unknown key '%s' (known: %s)", text, key, known);
    }
    ynode *node = root;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", key);
    char *save = NULL;
    char *tok = strtok_r(tmp, ".", &save);
    for (char *nexttok; (nexttok = strtok_r(NULL, ".", &save)); tok = nexttok) {
        ynode *child = yn_map_get(node, tok);
        if (child && child->kind != YN_MAP) /* found by the config fuzzer: "model: [1]" + model.k=3 */
            ml_die("override '%s': '%s' is not a mapping in the config (line %d)", text, tok, child->line);
        if (!child) {
            child = yn_new_map(0);
            yn_map_set(node, tok, child, 0);
        }
        node = child;
    }
    yn_map_set(node, tok, val, 0);
}

/* Line of a field's node for cross-field messages (0 = default/override). */
static int line_of(const ynode *const *vals, const char *path) {
    for (int i = 0; i < NFIELDS; i++)
        if (SCHEMA[i].path && !strcmp(SCHEMA[i].path, path)) return vals[i] ? vals[i]->line : 0;
    return 0;
}

static const ynode *get_path(const ynode *root, const char *path) {
    if (!path) return NULL;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", path);
    const ynode *v = root;
    for (char *tok = strtok(tmp, "."); tok && v; tok = strtok(NULL, ".")) v = yn_map_get(v, tok);
    return v;
}

/* Grow-able string for the resolved YAML. */
typedef struct { char *s; size_t n, cap; } sbuf;
static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void sb_add(sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        size_t room = b->cap - b->n;
        int w = vsnprintf(b->s ? b->s + b->n : NULL, room, fmt, ap);
        va_end(ap);
        if ((size_t)w < room) { b->n += (size_t)w; return; }
        b->cap = (b->cap + (size_t)w + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s) ml_fatal("out of memory");
    }
}

static void sb_value(sbuf *b, const ynode *v, const char *def) {
    if (!v) { sb_add(b, "%s", def); return; }
    if (v->kind == YN_SCALAR) { sb_add(b, "%s", v->text); return; }
    sb_add(b, "[");
    for (int i = 0; i < v->n; i++) sb_add(b, "%s%s", i ? ", " : "", v->items[i]->text);
    sb_add(b, "]");
}

static void quote_into(sbuf *b, const char *s) {
    sb_add(b, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') sb_add(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20) sb_add(b, " ");
        else sb_add(b, "%c", *s);
    }
    sb_add(b, "\"");
}

static char *basename_noext(const char *path) {
    const char *s = strrchr(path, '/');
    s = s ? s + 1 : path;
    char *r = ml_strdup(s);
    char *dot = strrchr(r, '.');
    if (dot && dot != r) *dot = 0;
    return r;
}

void ml_config_load(ml_sweep_config *cfg, const char *path, int n_over, char **overrides) {
    memset(cfg, 0, sizeof *cfg);
    ynode *root = yn_parse_file(path);
    /* An empty file most likely means the wrong file: running the defaults
     * (the paper-scale model) would be a costly surprise. `{}` says "all
     * defaults" on purpose. */
    if (!root) ml_die("%s: the config is empty (no keys, only blank lines or comments); write {} to mean all defaults",
                      path);
    if (root->kind != YN_MAP)
        ml_die("%s:%d: a config must be a mapping of keys, got a %s", path, root->line,
               root->kind == YN_SEQ ? "list" : "single value");
    for (int i = 0; i < n_over; i++) apply_override(root, overrides[i]);
    validate_tree(root, path);

    long max_runs = DEFAULT_MAX_RUNS;
    const ynode *mr = yn_map_get(root, "max_runs");
    if (mr && (mr->kind != YN_SCALAR || mr->quoted || parse_int(mr->text, &max_runs) || max_runs < 1 ||
               max_runs > 2147483647L))
        ml_die("%s: 'max_runs' must be an integer in [1, 2147483647]", where(path, mr->line));

    /* name */
    const ynode *name = yn_map_get(root, "name");
    if (name && name->kind != YN_SCALAR) ml_die("%s: 'name' must be a string", where(path, name->line));
    cfg->name = name ? ml_strdup(name->text) : basename_noext(path);

    /* seeds */
    const ynode *sv = yn_map_get(root, "seeds");
    long n_seeds = 1;
    uint64_t *seeds = NULL; /* a count is expanded after the grid-size check */
    if (!sv) {
        seeds = ml_calloc(1, sizeof *seeds);
    } else if (sv->kind == YN_SCALAR) {
        if (sv->quoted || parse_int(sv->text, &n_seeds) || n_seeds < 1)
            ml_die("%s: 'seeds' must be a count >= 1 or a list of seeds, got '%s'", where(path, sv->line), sv->text);
    } else if (sv->kind == YN_SEQ && sv->n > 0) {
        n_seeds = sv->n;
        seeds = ml_calloc((size_t)n_seeds, sizeof *seeds);
        for (int i = 0; i < sv->n; i++) {
            long x;
            const ynode *it = sv->items[i];
            if (it->kind != YN_SCALAR || it->quoted || parse_int(it->text, &x) || x < 0)
                ml_die("%s: 'seeds' entries must be integers >= 0", where(path, it->line));
            seeds[i] = (uint64_t)x;
        }
    } else {
        ml_die("%s: 'seeds' must be a count >= 1 or a non-empty list", where(path, sv->line));
    }

    /* axes */
    const ynode *vals[NFIELDS];
    int counts[NFIELDS];
    double total_d = n_seeds; /* exact far beyond any limit; only for the message */
    for (int i = 0; i < NFIELDS; i++) {
        vals[i] = get_path(root, SCHEMA[i].path);
        counts[i] = vals[i] && vals[i]->kind == YN_SEQ ? vals[i]->n : 1;
        total_d *= counts[i];
    }
    if (total_d > (double)max_runs)
        ml_die("%s: the grid expands to %.0f runs, more than max_runs = %ld; if you mean it, raise the limit "
               "(max_runs: N in the config, or the override max_runs=N)",
               path, total_d, max_runs);
    long total = (long)total_d;
    if (!seeds) {
        seeds = ml_calloc((size_t)n_seeds, sizeof *seeds);
        for (long i = 0; i < n_seeds; i++) seeds[i] = (uint64_t)i;
    }
    cfg->n_runs = (int)total;
    cfg->runs = ml_calloc((size_t)total, sizeof(ml_run));
    ynode *defaults[NFIELDS];
    for (int i = 0; i < NFIELDS; i++) defaults[i] = SCHEMA[i].path ? yn_parse_string(SCHEMA[i].def, "schema default") : NULL;
    int idx[NFIELDS + 1];
    memset(idx, 0, sizeof idx);
    for (long r = 0; r < total; r++) {
        ml_run *run = &cfg->runs[r];
        long rem = r;
        int si = (int)(rem % n_seeds);
        rem /= n_seeds;
        for (int i = NFIELDS - 1; i >= 0; i--) {
            idx[i] = (int)(rem % counts[i]);
            rem /= counts[i];
        }
        for (int i = 0; i < NFIELDS; i++) {
            if (!SCHEMA[i].path) continue;
            const ynode *v = vals[i] ? vals[i] : defaults[i];
            if (v->kind == YN_SEQ) v = v->items[idx[i]];
            apply_scalar(&SCHEMA[i], v, path, run);
        }
        run->seed = seeds[si];
        run->index = (int)r;
        snprintf(run->id, sizeof run->id, "r%06ld", r);
        if (run->batch == -1) { /* "auto": hold B*k at 2^23 (docs/science.md §1.8) */
            int lg = 0;
            while ((1L << lg) < run->k) lg++;
            run->batch = lg >= 23 ? 1 : 1 << (23 - lg);
        }
        /* Cross-field rules that no single key can check. */
        if (run->m > run->N)
            ml_die("%s: model.m (%d) must be <= model.N (%d): the embedder P has orthonormal columns in R^N",
                   where(path, line_of(vals, "model.m")), run->m, run->N);
        if (run->decay * run->lr >= 1.0)
            ml_die("%s: train.decay * train.lr must be < 1 (bias decay multiplies b1 by 1 - decay*lr), got %g",
                   where(path, line_of(vals, "train.decay")), run->decay * run->lr);
    }
    for (int i = 0; i < NFIELDS; i++) yn_free(defaults[i]);

    /* Canonical resolved config: every key, defaults filled in. */
    sbuf b = {0};
    sb_add(&b, "name: ");
    quote_into(&b, cfg->name);
    sb_add(&b, "\nseeds: [");
    for (int i = 0; i < n_seeds; i++) sb_add(&b, "%s%llu", i ? ", " : "", (unsigned long long)seeds[i]);
    sb_add(&b, "]\n");
    const char *cur_section = "";
    for (int i = 0; i < NFIELDS; i++) {
        const char *p = SCHEMA[i].path;
        if (!p) continue;
        const char *dot = strchr(p, '.');
        if (dot) {
            if (strncmp(cur_section, p, (size_t)(dot - p)) || strlen(cur_section) != (size_t)(dot - p)) {
                static char sec[64];
                snprintf(sec, sizeof sec, "%.*s", (int)(dot - p), p);
                cur_section = sec;
                sb_add(&b, "%s:\n", sec);
            }
            sb_add(&b, "  %s: ", dot + 1);
        } else {
            cur_section = "";
            sb_add(&b, "%s: ", p);
        }
        sb_value(&b, vals[i], SCHEMA[i].def);
        sb_add(&b, "\n");
    }
    cfg->resolved_yaml = b.s;
    free(seeds);
    yn_free(root);
}

void ml_config_check_pin(const ml_sweep_config *cfg, const char *dir, const char *advice) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    char *old = ml_read_file(path, NULL);
    int differs = old && strcmp(old, cfg->resolved_yaml);
    free(old);
    if (differs) ml_die("%s holds a different resolved config; %s", path, advice);
}

void ml_config_pin(const ml_sweep_config *cfg, const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    ml_atomic_file f; /* the exact text: ml_config_check_pin compares it byte for byte */
    ml_atomic_open(&f, path);
    ml_atomic_write(&f, cfg->resolved_yaml, strlen(cfg->resolved_yaml));
    ml_atomic_commit(&f);
}

void ml_config_free(ml_sweep_config *cfg) {
    free(cfg->name);
    free(cfg->resolved_yaml);
    free(cfg->runs);
    memset(cfg, 0, sizeof *cfg);
}
