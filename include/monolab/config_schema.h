/* The one config loader of the commands that read YAML configs (sweep and
 * sae): a command gives its table of keys (dotted path, type, range,
 * default, where the value goes in its own struct) and gets back a parsed,
 * overridden and fully checked tree. Every refusal exits 2 with one line
 * naming the file and line, or the override, and the key:
 * "cfg.yaml:3: 'train.lr' must be >= 0, got -1". */
#ifndef MONOLAB_CONFIG_SCHEMA_H
#define MONOLAB_CONFIG_SCHEMA_H
#include "monolab/yaml_tree.h"
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ML_KEY_INT,         /* int */
    ML_KEY_LONG,        /* long */
    ML_KEY_DOUBLE,      /* double; "1/64" is allowed */
    ML_KEY_ENUM,        /* int: the index of the value in names */
    ML_KEY_INT_OR_AUTO, /* int; "auto" is -1 */
    ML_KEY_STR,         /* char[size] */
} ml_key_type;

typedef struct {
    const char *path;         /* dotted: "train.lr"; its first part names a section */
    ml_key_type type;
    size_t off, size;         /* where the value goes in the command's struct; size: ML_KEY_STR's buffer */
    const char *const *names; /* ML_KEY_ENUM: vocab.h's names */
    const char *def;          /* the default, as YAML text */
    double lo, hi;            /* numbers: the allowed range, inclusive unless lo_open */
    int lo_open;
    int max_list;             /* a list of 1 to max_list values is allowed (a grid axis); 0: one value */
} ml_config_key;

typedef struct {
    const ml_config_key *keys;
    int n_keys;
    const char *const *extra; /* top-level keys the command reads itself ("seeds"), NULL-terminated */
} ml_config_schema;

/* Parses path, applies the key=value overrides (YAML values, so lists work)
 * and checks every key present against the schema. vals[i] is the node of
 * keys[i], or NULL where the default holds. The tree is the caller's to
 * yn_free. */
ynode *ml_config_read(const ml_config_schema *s, const char *path, int n_over, char **overrides, const ynode **vals);

/* One checked scalar v of key k into dst (NULL: check only). */
void ml_config_value(const ml_config_key *k, const ynode *v, const char *file, void *dst);

/* The node of a key, or its parsed default (the caller frees it with
 * yn_free when *owned is set). */
const ynode *ml_config_node_or_default(const ml_config_key *k, const ynode *v, ynode **owned);

/* The top-level "seeds": a count n (seeds 0..n-1; the default is 1) or a
 * list of seeds >= 0, at most max of them (0: no limit). Returns the count;
 * *seeds is the malloc'd list, or NULL for a count (0..n-1, which the caller
 * expands once it knows the grid is not too large). */
long ml_config_seeds(const ynode *root, const char *file, long max, uint64_t **seeds);

/* "; did you mean 'seeds'?" for a key one edit from name (or the key of
 * another section with name's last part, "lr" -> "train.lr"); "" if none. */
const char *ml_config_did_you_mean(const ml_config_schema *s, const char *name);

/* "file:line", or "command-line override" for line 0. */
const char *ml_config_where(const char *file, int line);

#endif
