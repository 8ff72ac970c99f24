/* The schema-driven config loader (include/monolab/config_schema.h): YAML
 * with line numbers (yaml_tree.c), key=value overrides, and every key
 * checked against the command's table before the command reads one. */
#include "monolab/config_schema.h"
#include "monolab/common.h"
#include "monolab/vocab.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BIG 1e300 /* a range's hi at or above this has no upper bound */

const char *ml_config_where(const char *file, int line) {
    static char buf[ML_PATH_MAX];
    if (line > 0) snprintf(buf, sizeof buf, "%s:%d", file, line);
    else snprintf(buf, sizeof buf, "command-line override");
    return buf;
}

static const ml_config_key *find_key(const ml_config_schema *s, const char *path) {
    for (int i = 0; i < s->n_keys; i++)
        if (!strcmp(s->keys[i].path, path)) return &s->keys[i];
    return NULL;
}

static int is_extra(const ml_config_schema *s, const char *name) {
    for (int i = 0; s->extra && s->extra[i]; i++)
        if (!strcmp(s->extra[i], name)) return 1;
    return 0;
}

/* A section is the first part of a dotted key. */
static int is_section(const ml_config_schema *s, const char *name, size_t len) {
    for (int i = 0; i < s->n_keys; i++) {
        const char *p = s->keys[i].path, *dot = strchr(p, '.');
        if (dot && (size_t)(dot - p) == len && !strncmp(p, name, len)) return 1;
    }
    return 0;
}

/* The keys of a section (or the top level, section NULL), for messages. */
static void known_keys(const ml_config_schema *s, char *buf, size_t n, const char *section) {
    buf[0] = 0;
    size_t sl = section ? strlen(section) : 0;
#define ADD(str, len)                                                                                              \
    do {                                                                                                           \
        if (buf[0]) strncat(buf, ", ", n - strlen(buf) - 1);                                                       \
        strncat(buf, str, len < n - strlen(buf) - 1 ? len : n - strlen(buf) - 1);                                  \
    } while (0)
    for (int i = 0; i < s->n_keys; i++) {
        const char *p = s->keys[i].path, *dot = strchr(p, '.');
        if (section && dot && (size_t)(dot - p) == sl && !strncmp(p, section, sl)) ADD(dot + 1, strlen(dot + 1));
        if (!section && !dot) ADD(p, strlen(p));
    }
    if (section) return;
    for (int i = 0; s->extra && s->extra[i]; i++) ADD(s->extra[i], strlen(s->extra[i]));
    for (int i = 0; i < s->n_keys; i++) { /* each section once, in table order */
        const char *p = s->keys[i].path, *dot = strchr(p, '.');
        if (!dot) continue;
        int first = 1;
        for (int q = 0; q < i && first; q++)
            first = strncmp(s->keys[q].path, p, (size_t)(dot - p) + 1) != 0;
        if (first) ADD(p, (size_t)(dot - p));
    }
#undef ADD
}

/* a and b are one edit apart: one character inserted, deleted, replaced,
 * or two neighbours swapped ("witdh" -> "width", the commonest typo). */
static int one_edit(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la < lb) {
        const char *t = a;
        a = b, b = t;
        size_t tl = la;
        la = lb, lb = tl;
    }
    size_t i = 0;
    while (b[i] && a[i] == b[i]) i++;
    if (la == lb + 1) return !strcmp(a + i + 1, b + i);
    if (la != lb || !a[i]) return 0;
    if (!strcmp(a + i + 1, b + i + 1)) return 1;
    return a[i + 1] && a[i] == b[i + 1] && a[i + 1] == b[i] && !strcmp(a + i + 2, b + i + 2);
}

/* A key one edit from name ("seed" -> "seeds", "train.stesp" ->
 * "train.steps"), else a key of another section with name's last part
 * ("model.lr" or "lr" -> "train.lr"); "" when there is none. */
static const char *suggest(const ml_config_schema *s, const char *name) {
    static char buf[256];
    for (int i = 0; s->extra && s->extra[i]; i++)
        if (one_edit(name, s->extra[i])) return s->extra[i];
    for (int i = 0; i < s->n_keys; i++) {
        const char *p = s->keys[i].path, *dot = strchr(p, '.');
        if (one_edit(name, p)) return p;
        snprintf(buf, sizeof buf, "%.*s", dot ? (int)(dot - p) : 0, p);
        if (dot && !strchr(name, '.') && one_edit(name, buf)) return buf; /* a section */
    }
    const char *leaf = strrchr(name, '.');
    leaf = leaf ? leaf + 1 : name;
    for (int i = 0; i < s->n_keys; i++) {
        const char *dot = strchr(s->keys[i].path, '.');
        if (dot && !strcmp(dot + 1, leaf) && strcmp(s->keys[i].path, name)) return s->keys[i].path;
    }
    return "";
}

/* "; did you mean 'seeds'?" or "". */
const char *ml_config_did_you_mean(const ml_config_schema *s, const char *name) {
    static char buf[300];
    const char *g = suggest(s, name);
    if (!*g) return "";
    snprintf(buf, sizeof buf, "; did you mean '%s'?", g);
    return buf;
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

/* A quoted number ("128") is a string to YAML: say so, with the fix. */
static const char *quoted_note(const ynode *v) {
    double x;
    return v->quoted && !parse_number(v->text, &x) ? " (a quoted string: write numbers without quotes)" : "";
}

void ml_config_value(const ml_config_key *f, const ynode *v, const char *file, void *dst) {
    if (v->kind != YN_SCALAR)
        ml_die("%s: '%s' must be a single value%s", ml_config_where(file, v->line), f->path,
               f->max_list ? " or a flat list" : "");
    const char *s = v->text;
    switch (f->type) {
    case ML_KEY_STR:
        if (strlen(s) >= f->size)
            ml_die("%s: '%s' is too long (at most %zu characters)", ml_config_where(file, v->line), f->path, f->size - 1);
        if (dst) snprintf(dst, f->size, "%s", s);
        return;
    case ML_KEY_ENUM: {
        int i = ml_enum_parse(f->names, s);
        if (i >= 0) {
            if (dst) *(int *)dst = i;
            return;
        }
        char opts[256];
        ml_enum_list(f->names, " | ", opts, sizeof opts);
        ml_die("%s: '%s' must be one of %s, got '%s'", ml_config_where(file, v->line), f->path, opts, s);
    }
    case ML_KEY_INT_OR_AUTO:
        if (!strcmp(s, "auto")) {
            if (dst) *(int *)dst = -1;
            return;
        }
        /* fall through */
    case ML_KEY_INT:
    case ML_KEY_LONG: {
        long x;
        if (v->quoted || parse_int(s, &x))
            ml_die("%s: '%s' must be an integer%s, got '%s'%s", ml_config_where(file, v->line), f->path,
                   f->type == ML_KEY_INT_OR_AUTO ? " or \"auto\"" : "", s, quoted_note(v));
        if (x < f->lo || x > f->hi)
            ml_die("%s: '%s' must be in [%.0f, %.0f], got %ld", ml_config_where(file, v->line), f->path, f->lo, f->hi, x);
        if (!dst) return;
        if (f->type == ML_KEY_LONG) *(long *)dst = x;
        else *(int *)dst = (int)x;
        return;
    }
    case ML_KEY_DOUBLE: {
        double x;
        if (v->quoted || parse_number(s, &x) || !isfinite(x))
            ml_die("%s: '%s' must be a finite number, got '%s'%s", ml_config_where(file, v->line), f->path, s,
                   quoted_note(v));
        if ((f->lo_open ? x <= f->lo : x < f->lo) || x > f->hi) {
            if (f->hi >= BIG) ml_die("%s: '%s' must be >= %g, got %g", ml_config_where(file, v->line), f->path, f->lo, x);
            ml_die("%s: '%s' must be in %s%g, %g], got %g", ml_config_where(file, v->line), f->path,
                   f->lo_open ? "(" : "[", f->lo, f->hi, x);
        }
        if (dst) *(double *)dst = x;
        return;
    }
    }
}

static const ynode *get_path(const ynode *root, const char *path) {
    const char *dot = strchr(path, '.');
    if (!dot) return yn_map_get(root, path);
    char sec[256];
    snprintf(sec, sizeof sec, "%.*s", (int)(dot - path), path);
    const ynode *s = yn_map_get(root, sec);
    return s && s->kind == YN_MAP ? yn_map_get(s, dot + 1) : NULL;
}

/* Every key present is in the schema, sections are maps, and every value
 * (each item of a list) passes its key's check. */
static void check_tree(const ml_config_schema *s, const ynode *root, const char *file, const ynode **vals) {
    char known[1024];
    for (int i = 0; i < root->n; i++) {
        const char *key = root->keys[i];
        const ynode *v = root->items[i];
        if (is_extra(s, key) || find_key(s, key)) continue;
        if (!is_section(s, key, strlen(key))) {
            known_keys(s, known, sizeof known, NULL);
            ml_die("%s: unknown key '%s'%s (known: %s)", ml_config_where(file, root->key_lines[i]), key,
                   ml_config_did_you_mean(s, key), known);
        }
        if (v->kind != YN_MAP) ml_die("%s: '%s' must be a mapping", ml_config_where(file, root->key_lines[i]), key);
        for (int j = 0; j < v->n; j++) {
            char path[256];
            snprintf(path, sizeof path, "%s.%s", key, v->keys[j]);
            if (!find_key(s, path)) {
                known_keys(s, known, sizeof known, key);
                ml_die("%s: unknown key '%s'%s (known in %s: %s)", ml_config_where(file, v->key_lines[j]), path,
                       ml_config_did_you_mean(s, path), key, known);
            }
        }
    }
    for (int i = 0; i < s->n_keys; i++) {
        const ml_config_key *f = &s->keys[i];
        const ynode *v = vals[i] = get_path(root, f->path);
        if (!v) continue;
        if (v->kind != YN_SEQ) {
            ml_config_value(f, v, file, NULL);
            continue;
        }
        if (!f->max_list) ml_die("%s: '%s' must be a single value, not a list", ml_config_where(file, v->line), f->path);
        if (v->n == 0) ml_die("%s: '%s' is an empty list", ml_config_where(file, v->line), f->path);
        if (v->n > f->max_list)
            ml_die("%s: '%s' lists %d values; at most %d", ml_config_where(file, v->line), f->path, v->n, f->max_list);
        for (int j = 0; j < v->n; j++) ml_config_value(f, v->items[j], file, NULL);
    }
}

/* An override's nodes have no line in the file (line 0). */
static void no_lines(ynode *v) {
    v->line = 0;
    for (int i = 0; i < v->n; i++) {
        if (v->key_lines) v->key_lines[i] = 0;
        no_lines(v->items[i]);
    }
}

/* "model.k=[64,128]" -> tree edit, after checking the key. */
static void apply_override(const ml_config_schema *s, ynode *root, const char *text) {
    const char *eq = strchr(text, '=');
    if (!eq || eq == text) ml_die("override '%s' must look like key=value (e.g. %s=...)", text, s->keys[0].path);
    char key[256];
    size_t kl = (size_t)(eq - text);
    if (kl >= sizeof key) ml_die("override '%s': key too long", text);
    memcpy(key, text, kl);
    key[kl] = 0;
    if (!is_extra(s, key) && !find_key(s, key)) {
        char known[1024];
        const char *dot = strchr(key, '.');
        int in_section = dot && is_section(s, key, (size_t)(dot - key));
        char sec[256];
        snprintf(sec, sizeof sec, "%.*s", in_section ? (int)(dot - key) : 0, key);
        known_keys(s, known, sizeof known, in_section ? sec : NULL);
        ml_die("override '%s': unknown key '%s'%s (known: %s)", text, key, ml_config_did_you_mean(s, key), known);
    }
    char origin[512];
    snprintf(origin, sizeof origin, "override '%s'", text);
    ynode *val = yn_parse_string(eq + 1, origin);
    if (!val || (val->kind == YN_MAP && val->n == 0)) ml_die("override '%s' has an empty value", text);
    no_lines(val); /* messages say "command-line override" */
    ynode *node = root;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", key);
    char *save = NULL, *tok = strtok_r(tmp, ".", &save);
    for (char *next; (next = strtok_r(NULL, ".", &save)); tok = next) {
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

ynode *ml_config_read(const ml_config_schema *s, const char *path, int n_over, char **overrides, const ynode **vals) {
    ynode *root = yn_parse_file(path);
    /* An empty file most likely means the wrong file: running the defaults
     * (a paper-scale model) would be a costly surprise. `{}` says "all
     * defaults" on purpose. */
    if (!root) ml_die("%s: the config is empty (no keys, only blank lines or comments); write {} to mean all defaults",
                      path);
    if (root->kind != YN_MAP)
        ml_die("%s:%d: a config must be a mapping of keys, got a %s", path, root->line,
               root->kind == YN_SEQ ? "list" : "single value");
    for (int i = 0; i < n_over; i++) apply_override(s, root, overrides[i]);
    check_tree(s, root, path, vals);
    return root;
}

const ynode *ml_config_node_or_default(const ml_config_key *k, const ynode *v, ynode **owned) {
    *owned = v ? NULL : yn_parse_string(k->def, "schema default");
    return v ? v : *owned;
}

long ml_config_seeds(const ynode *root, const char *file, long max, uint64_t **seeds) {
    const ynode *sv = yn_map_get(root, "seeds");
    *seeds = NULL;
    long n = 1;
    if (!sv) return 1;
    if (sv->kind == YN_SCALAR) {
        if (sv->quoted || parse_int(sv->text, &n) || n < 1 || (max && n > max)) {
            if (max) ml_die("%s: 'seeds' must be a count from 1 to %ld or a list of seeds, got '%s'%s",
                            ml_config_where(file, sv->line), max, sv->text, quoted_note(sv));
            ml_die("%s: 'seeds' must be a count >= 1 or a list of seeds, got '%s'%s", ml_config_where(file, sv->line),
                   sv->text, quoted_note(sv));
        }
        return n;
    }
    if (sv->kind != YN_SEQ || sv->n == 0) ml_die("%s: 'seeds' must be a count >= 1 or a non-empty list", ml_config_where(file, sv->line));
    if (max && sv->n > max) ml_die("%s: 'seeds' lists %d seeds; at most %ld", ml_config_where(file, sv->line), sv->n, max);
    *seeds = ml_calloc((size_t)sv->n, sizeof **seeds);
    for (int i = 0; i < sv->n; i++) {
        long x;
        const ynode *it = sv->items[i];
        if (it->kind != YN_SCALAR || it->quoted || parse_int(it->text, &x) || x < 0)
            ml_die("%s: 'seeds' entries must be integers >= 0, got '%s'%s", ml_config_where(file, it->line),
                   it->kind == YN_SCALAR ? it->text : "a list or mapping", it->kind == YN_SCALAR ? quoted_note(it) : "");
        (*seeds)[i] = (uint64_t)x;
    }
    return sv->n;
}
