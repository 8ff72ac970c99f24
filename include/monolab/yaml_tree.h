/* A YAML document as a small tree with line numbers, so that validation
 * errors can say file:line. Built with libyaml's event parser. */
#ifndef MONOLAB_YAML_TREE_H
#define MONOLAB_YAML_TREE_H

typedef enum { YN_SCALAR, YN_SEQ, YN_MAP } yn_kind;

typedef struct ynode {
    yn_kind kind;
    int line;          /* 1-based */
    int quoted;        /* scalar was quoted: never a number */
    char *text;        /* scalar */
    int n;             /* children (seq items, or map pairs) */
    char **keys;       /* map keys */
    int *key_lines;
    struct ynode **items; /* seq items or map values */
} ynode;

/* Parse a whole file / a string. On a syntax error exits 2 with
 * "<origin>:<line>: <problem>". Returns NULL when the text holds no
 * document (empty, blank, or only comments). */
ynode *yn_parse_file(const char *path);
ynode *yn_parse_string(const char *text, const char *origin);
void yn_free(ynode *n);
ynode *yn_map_get(const ynode *map, const char *key);
/* Set map[key] = val (replacing and freeing an old value). */
void yn_map_set(ynode *map, const char *key, ynode *val, int line);
ynode *yn_new_map(int line);

#endif
