/* libyaml events -> ynode tree. Only the subset a config needs: mappings,
 * sequences and scalars. Aliases (and with them the "billion laughs"
 * expansion) and multi-document streams are rejected with a clear message
 * rather than half-supported; nesting is bounded so that a hostile file
 * cannot exhaust the stack of this recursive builder. */
#include "monolab/yaml_tree.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef struct {
    yaml_parser_t p;
    const char *origin;
} yparse;

static void push(ynode *parent, char *key, int key_line, ynode *child) {
    parent->items = realloc(parent->items, sizeof(ynode *) * (parent->n + 1));
    if (!parent->items) ml_fatal("out of memory");
    parent->items[parent->n] = child;
    if (parent->kind == YN_MAP) {
        parent->keys = realloc(parent->keys, sizeof(char *) * (parent->n + 1));
        parent->key_lines = realloc(parent->key_lines, sizeof(int) * (parent->n + 1));
        if (!parent->keys || !parent->key_lines) ml_fatal("out of memory");
        parent->keys[parent->n] = key;
        parent->key_lines[parent->n] = key_line;
    }
    parent->n++;
}

/* Refuse the input: the message is formatted first, then libyaml's buffers
 * are released, so a caller that survives ml_die (the config fuzzer's die
 * hook) does not leak a parser per refused input. */
ML_NORETURN static void yfail(yparse *y, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void yfail(yparse *y, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    yaml_parser_delete(&y->p);
    ml_die("%s", msg);
}

static void next_event(yparse *y, yaml_event_t *ev) {
    if (!yaml_parser_parse(&y->p, ev)) {
        const char *problem = y->p.problem ? y->p.problem : "unknown";
        if (y->p.context)
            yfail(y, "%s:%zu: YAML syntax error: %s (%s at line %zu)", y->origin, y->p.problem_mark.line + 1,
                  problem, y->p.context, y->p.context_mark.line + 1);
        yfail(y, "%s:%zu: YAML syntax error: %s", y->origin, y->p.problem_mark.line + 1, problem);
    }
}

static ynode *parse_node(yparse *y, yaml_event_t *ev, int depth);

/* A config is at most 3 levels deep (root, section, list); anything far
 * deeper is a hostile or broken file. */
#define YN_MAX_DEPTH 32

static ynode *new_node(yn_kind kind, int line) {
    ynode *n = ml_calloc(1, sizeof *n);
    n->kind = kind;
    n->line = line;
    return n;
}

ynode *yn_new_map(int line) { return new_node(YN_MAP, line); }

/* ev is the start event of the node; consumes through its end event. */
static ynode *parse_node(yparse *y, yaml_event_t *ev, int depth) {
    int line = (int)ev->start_mark.line + 1;
    if (depth > YN_MAX_DEPTH)
        yfail(y, "%s:%d: nesting deeper than %d levels (a config needs 3)", y->origin, line, YN_MAX_DEPTH);
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        ynode *n = new_node(YN_SCALAR, line);
        n->text = ml_strdup((const char *)ev->data.scalar.value);
        n->quoted = ev->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    ev->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        yaml_event_delete(ev);
        return n;
    }
    case YAML_SEQUENCE_START_EVENT: {
        ynode *n = new_node(YN_SEQ, line);
        yaml_event_delete(ev);
        for (;;) {
            yaml_event_t e;
            next_event(y, &e);
            if (e.type == YAML_SEQUENCE_END_EVENT) { yaml_event_delete(&e); break; }
            push(n, NULL, 0, parse_node(y, &e, depth + 1));
        }
        return n;
    }
    case YAML_MAPPING_START_EVENT: {
        ynode *n = new_node(YN_MAP, line);
        yaml_event_delete(ev);
        for (;;) {
            yaml_event_t e;
            next_event(y, &e);
            if (e.type == YAML_MAPPING_END_EVENT) { yaml_event_delete(&e); break; }
            if (e.type != YAML_SCALAR_EVENT)
                yfail(y, "%s:%zu: mapping keys must be plain names", y->origin, e.start_mark.line + 1);
            int kl = (int)e.start_mark.line + 1;
            char *key = ml_strdup((const char *)e.data.scalar.value);
            yaml_event_delete(&e);
            for (int i = 0; i < n->n; i++)
                if (!strcmp(n->keys[i], key))
                    yfail(y, "%s:%d: duplicate key '%s' (first at line %d)", y->origin, kl, key, n->key_lines[i]);
            yaml_event_t v;
            next_event(y, &v);
            push(n, key, kl, parse_node(y, &v, depth + 1));
        }
        return n;
    }
    case YAML_ALIAS_EVENT:
        yfail(y, "%s:%d: YAML aliases (*name) are not supported in configs", y->origin, line);
    default:
        yfail(y, "%s:%d: unexpected YAML structure", y->origin, line);
    }
}

static ynode *parse_all(yparse *y) {
    yaml_event_t ev;
    ynode *root = NULL;
    for (;;) {
        next_event(y, &ev);
        if (ev.type == YAML_STREAM_END_EVENT) { yaml_event_delete(&ev); break; }
        if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
            yaml_event_delete(&ev);
            continue;
        }
        if (ev.type == YAML_DOCUMENT_START_EVENT) {
            if (root) yfail(y, "%s:%zu: only one YAML document is allowed", y->origin, ev.start_mark.line + 1);
            yaml_event_delete(&ev);
            next_event(y, &ev);
            root = parse_node(y, &ev, 0);
            continue;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&y->p);
    return root; /* NULL: no document at all (empty, or only comments) */
}

ynode *yn_parse_file(const char *path) {
    /* Read it whole first: no open FILE is left behind by a refused config. */
    size_t len;
    /* A config is a few KB; a huge one is a mistake, refused before it is read. */
    char *text = ml_read_file_max(path, &len, (size_t)16 << 20);
    if (!text) ml_die("cannot open config '%s'", path);
    yparse y = {.origin = path};
    yaml_parser_initialize(&y.p);
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, len);
    ynode *root = parse_all(&y);
    free(text);
    return root;
}

ynode *yn_parse_string(const char *text, const char *origin) {
    yparse y = {.origin = origin};
    yaml_parser_initialize(&y.p);
    yaml_parser_set_input_string(&y.p, (const unsigned char *)text, strlen(text));
    return parse_all(&y);
}

void yn_free(ynode *n) {
    if (!n) return;
    for (int i = 0; i < n->n; i++) {
        yn_free(n->items[i]);
        if (n->keys) free(n->keys[i]);
    }
    free(n->items);
    free(n->keys);
    free(n->key_lines);
    free(n->text);
    free(n);
}

ynode *yn_map_get(const ynode *map, const char *key) {
    if (!map || map->kind != YN_MAP) return NULL;
    for (int i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i], key)) return map->items[i];
    return NULL;
}

void yn_map_set(ynode *map, const char *key, ynode *val, int line) {
    for (int i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i], key)) {
            yn_free(map->items[i]);
            map->items[i] = val;
            return;
        }
    push(map, ml_strdup(key), line, val);
}
