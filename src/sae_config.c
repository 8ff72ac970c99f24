/* `monolab sae` config: schema, validation, overrides, resolved text. */
#include "monolab/sae_config.h"
#include "monolab/common.h"
#include "monolab/yaml_tree.h"
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_INT, K_FLOAT, K_STR, K_FLOATS, K_SEEDS } kind;

typedef struct {
    const char *path;
    kind type;
    size_t off;      /* into ml_sae_config */
    const char *def; /* YAML text */
    double lo, hi;   /* inclusive range for numbers */
} key;

#define OFF(f) offsetof(ml_sae_config, f)
/* Defaults: Foote 2024 §4 sizes on Fashion-MNIST (Debian's dataset-fashion-mnist). */
static const key SCHEMA[] = {
    {"name", K_STR, OFF(name), "sae", 0, 0},
    {"seeds", K_SEEDS, OFF(seeds), "1", 0, 0},
    {"data.dir", K_STR, OFF(data_dir), "/usr/share/datasets/fashion-mnist", 0, 0},
    {"mlp.hidden", K_INT, OFF(mlp_hidden), "64", 1, 4096},
    {"mlp.epochs", K_INT, OFF(mlp_epochs), "3", 1, 1000},
    {"mlp.batch", K_INT, OFF(mlp_batch), "64", 1, 1 << 20},
    {"mlp.lr", K_FLOAT, OFF(mlp_lr), "0.001", 1e-12, 10},
    {"mlp.seed", K_INT, OFF(mlp_seed), "0", 0, 2147483647.0},
    {"mlp.checkpoint", K_STR, OFF(mlp_checkpoint), "''", 0, 0},
    {"sae.latents", K_INT, OFF(latents), "512", 1, 1 << 20},
    {"sae.epochs", K_INT, OFF(sae_epochs), "1", 1, 1000},
    {"sae.batch", K_INT, OFF(sae_batch), "64", 1, 1 << 20},
    {"sae.lr", K_FLOAT, OFF(sae_lr), "0.001", 1e-12, 10},
    {"sae.l1", K_FLOATS, OFF(l1), "0.001", 0, 1e6},
    {"sae.ln", K_FLOATS, OFF(ln), "0", 0, 1e6},
    {"sae.ln_start", K_INT, OFF(ln_start), "200", 0, 2147483647.0},
    {"sae.log_every", K_INT, OFF(log_every), "50", 1, 1 << 30},
    {"embed.act_frac", K_FLOAT, OFF(embed.act_frac), "0.75", 0, 1},
    {"embed.max_examples", K_INT, OFF(embed.max_examples), "100", 2, 4096},
    {"embed.threshold", K_FLOAT, OFF(embed.threshold), "0.5", 0, 2},
};
#define NKEYS ((int)(sizeof SCHEMA / sizeof SCHEMA[0]))

static const key *find_key(const char *path) {
    for (int i = 0; i < NKEYS; i++)
        if (!strcmp(SCHEMA[i].path, path)) return &SCHEMA[i];
    return NULL;
}

static void die_unknown(const char *where, const char *path) {
    char known[1024] = "";
    for (int i = 0; i < NKEYS; i++) {
        strncat(known, i ? ", " : "", sizeof known - strlen(known) - 1);
        strncat(known, SCHEMA[i].path, sizeof known - strlen(known) - 1);
    }
    ml_die("%s: unknown key '%s' (known: %s)", where, path, known);
}

static const char *where(const char *file, int line) {
    static char buf[1100];
    if (line > 0) snprintf(buf, sizeof buf, "%s:%d", file, line);
    else snprintf(buf, sizeof buf, "command-line override");
    return buf;
}

static double number(const ynode *v, const key *k, const char *file) {
    char *end;
    errno = 0;
    double x = v->kind == YN_SCALAR && !v->quoted ? strtod(v->text, &end) : 0;
    if (v->kind != YN_SCALAR || v->quoted || end == v->text || *end || errno)
        ml_die("%s: '%s' must be a number", where(file, v->line), k->path);
    if (!(x >= k->lo && x <= k->hi)) ml_die("%s: '%s' must be in [%g, %g], got %s", where(file, v->line), k->path, k->lo, k->hi, v->text);
    if (k->type == K_INT || k->type == K_SEEDS) {
        if (x != (double)(long)x) ml_die("%s: '%s' must be an integer, got %s", where(file, v->line), k->path, v->text);
    }
    return x;
}

/* Write one key's value (node v, or its default) into c and the resolved text. */
static void apply(ml_sae_config *c, const key *k, const ynode *v, const char *file, const char *prefix, char **yaml,
                  size_t *len, size_t *cap) {
    char line[4096];
    const char *dot = strchr(k->path, '.'), *leaf = dot ? dot + 1 : k->path;
    int n = snprintf(line, sizeof line, "%s%s%s: ", prefix, dot ? "  " : "", leaf);
    char *dst = (char *)c + k->off;
    if (k->type == K_STR) {
        if (v->kind != YN_SCALAR) ml_die("%s: '%s' must be a string", where(file, v->line), k->path);
        size_t lim = k->off == OFF(name) ? sizeof c->name : sizeof c->data_dir;
        if (strlen(v->text) >= lim) ml_die("%s: '%s' is too long", where(file, v->line), k->path);
        snprintf(dst, lim, "%s", v->text);
        line[n++] = '\'';
        for (const char *q = v->text; *q; q++) { /* YAML single quotes: ' doubles */
            if (*q == '\'') line[n++] = '\'';
            line[n++] = *q;
        }
        n += snprintf(line + n, sizeof line - n, "'\n");
    } else if (k->type == K_INT || k->type == K_FLOAT) {
        double x = number(v, k, file);
        if (k->off == OFF(mlp_seed) || k->off == OFF(ln_start)) *(long *)dst = (long)x;
        else if (k->type == K_INT) *(int *)dst = (int)x;
        else *(double *)dst = x;
        n += snprintf(line + n, sizeof line - n, "%.17g\n", x);
    } else if (k->type == K_FLOATS) {
        int cnt = v->kind == YN_SEQ ? v->n : 1;
        if (v->kind == YN_MAP || cnt < 1 || cnt > 64) ml_die("%s: '%s' must be a number or a list of 1 to 64 numbers", where(file, v->line), k->path);
        double *arr = (double *)dst;
        n += snprintf(line + n, sizeof line - n, "[");
        for (int i = 0; i < cnt; i++) {
            arr[i] = number(v->kind == YN_SEQ ? v->items[i] : v, k, file);
            n += snprintf(line + n, sizeof line - n, "%s%.17g", i ? ", " : "", arr[i]);
        }
        n += snprintf(line + n, sizeof line - n, "]\n");
        *(k->off == OFF(l1) ? &c->n_l1 : &c->n_ln) = cnt;
    } else { /* seeds: n means 0..n-1, a list names them */
        n += snprintf(line + n, sizeof line - n, "[");
        if (v->kind == YN_SEQ) {
            if (v->n < 1 || v->n > 256) ml_die("%s: 'seeds' must list 1 to 256 seeds", where(file, v->line));
            c->n_seeds = v->n;
            for (int i = 0; i < v->n; i++) {
                key any = {"seeds", K_SEEDS, 0, NULL, 0, 9007199254740992.0};
                c->seeds[i] = (uint64_t)number(v->items[i], &any, file);
            }
        } else {
            key cnt = {"seeds", K_SEEDS, 0, NULL, 1, 256};
            c->n_seeds = (int)number(v, &cnt, file);
            for (int i = 0; i < c->n_seeds; i++) c->seeds[i] = (uint64_t)i;
        }
        for (int i = 0; i < c->n_seeds; i++)
            n += snprintf(line + n, sizeof line - n, "%s%llu", i ? ", " : "", (unsigned long long)c->seeds[i]);
        n += snprintf(line + n, sizeof line - n, "]\n");
    }
    while (*len + (size_t)n + 1 > *cap) {
        *cap = *cap ? 2 * *cap : 4096;
        *yaml = realloc(*yaml, *cap);
        if (!*yaml) ml_fatal("out of memory");
    }
    memcpy(*yaml + *len, line, (size_t)n + 1);
    *len += (size_t)n;
}

/* Node at a dotted path, or NULL. */
static const ynode *get(const ynode *root, const char *path) {
    const char *dot = strchr(path, '.');
    if (!dot) return yn_map_get(root, path);
    char sec[64];
    snprintf(sec, sizeof sec, "%.*s", (int)(dot - path), path);
    const ynode *s = yn_map_get(root, sec);
    return s && s->kind == YN_MAP ? yn_map_get(s, dot + 1) : NULL;
}

/* Every key present must be in the schema; sections must be maps. */
static void validate(const ynode *root, const char *file) {
    if (root->kind != YN_MAP) ml_die("%s:%d: the config must be a mapping", file, root->line);
    for (int i = 0; i < root->n; i++) {
        const char *k = root->keys[i];
        const ynode *v = root->items[i];
        if (find_key(k)) continue;
        if (v->kind != YN_MAP) die_unknown(where(file, root->key_lines[i]), k);
        for (int q = 0; q < v->n; q++) {
            char path[256];
            snprintf(path, sizeof path, "%s.%s", k, v->keys[q]);
            if (!find_key(path)) die_unknown(where(file, v->key_lines[q]), path);
        }
    }
}

/* "sae.ln=[0,0.1]" -> tree edit, after checking the key. */
static void override(ynode *root, const char *text) {
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) ml_die("override '%s' must look like key=value (e.g. sae.ln=[0,0.01])", text);
    char path[256];
    snprintf(path, sizeof path, "%.*s", (int)(eq - text), text);
    if (!find_key(path)) die_unknown("override", path);
    ynode *val = yn_parse_string(eq + 1, text);
    val->line = 0;
    for (int i = 0; i < val->n; i++) val->items[i]->line = 0;
    char *dot = strchr(path, '.');
    if (!dot) {
        yn_map_set(root, path, val, 0);
        return;
    }
    *dot = 0;
    ynode *sec = yn_map_get(root, path);
    if (!sec) {
        sec = yn_new_map(0);
        yn_map_set(root, path, sec, 0);
    }
    yn_map_set(sec, dot + 1, val, 0);
}

void ml_sae_config_load(ml_sae_config *c, const char *path, int n_over, char **overrides) {
    memset(c, 0, sizeof *c);
    ynode *root = yn_parse_file(path);
    if (root->kind == YN_MAP && root->n == 0 && root->line == 0) root->line = 1;
    validate(root, path);
    for (int i = 0; i < n_over; i++) override(root, overrides[i]);
    size_t len = 0, cap = 0;
    for (int i = 0; i < NKEYS; i++) {
        const ynode *v = get(root, SCHEMA[i].path);
        ynode *def = NULL;
        if (!v) v = def = yn_parse_string(SCHEMA[i].def, "default");
        /* nested YAML: a "section:" line before a section's first key */
        const char *p = SCHEMA[i].path, *dot = strchr(p, '.');
        const char *prev = i ? SCHEMA[i - 1].path : "";
        char prefix[80] = "";
        if (dot && strncmp(prev, p, (size_t)(dot - p) + 1)) snprintf(prefix, sizeof prefix, "%.*s:\n", (int)(dot - p), p);
        apply(c, &SCHEMA[i], v, path, prefix, &c->resolved_yaml, &len, &cap);
        yn_free(def);
    }
    yn_free(root);
    if ((long)c->n_l1 * c->n_ln * c->n_seeds > 4096)
        ml_die("%s: sae.l1 x sae.ln x seeds makes %d SAEs; at most 4096 per launch", path, c->n_l1 * c->n_ln * c->n_seeds);
    c->embed.pre_mlp = 0;
}

void ml_sae_config_free(ml_sae_config *c) {
    free(c->resolved_yaml);
    c->resolved_yaml = NULL;
}
