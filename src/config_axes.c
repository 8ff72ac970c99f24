/* A sweep config's axes: which keys vary, alone or zipped together
 * (include/monolab/config_axes.h). The zip is checked here, in full, so
 * that the grid expansion (config.c) can trust it. */
#include "monolab/config_axes.h"
#include "monolab/common.h"
#include <stdio.h>
#include <string.h>

static int key_index(const ml_config_schema *s, const char *path) {
    for (int i = 0; i < s->n_keys; i++)
        if (!strcmp(s->keys[i].path, path)) return i;
    return -1;
}

static int n_values(const ynode *v) { return v && v->kind == YN_SEQ ? v->n : 1; }

/* Checks one zip group (a list of keys) and makes it axis a. */
static void zip_group(const ml_config_schema *s, const ynode *g, const ynode *const *vals, const char *file,
                      ml_config_axes *ax, int a) {
    const char *where = ml_config_where(file, g->line);
    if (g->kind != YN_SEQ || g->n < 2)
        ml_die("%s: each entry of 'zip' must list two or more keys whose values vary together, e.g. "
               "[model.bias_offset, train.decay]",
               where);
    int first = -1;
    for (int j = 0; j < g->n; j++) {
        const ynode *k = g->items[j];
        if (k->kind != YN_SCALAR) ml_die("%s: 'zip' lists keys (dotted names such as train.decay)", where);
        if (!strcmp(k->text, "seeds"))
            ml_die("%s: 'seeds' cannot be zipped: every setting runs with every seed", ml_config_where(file, k->line));
        int i = key_index(s, k->text);
        if (i < 0)
            ml_die("%s: 'zip' names an unknown key '%s'%s", ml_config_where(file, k->line), k->text,
                   ml_config_did_you_mean(s, k->text));
        if (ax->axis_of[i] >= 0)
            ml_die("%s: '%s' is in two zip groups (or twice in one); a key varies with one group only",
                   ml_config_where(file, k->line), k->text);
        if (first < 0) first = i;
        if (n_values(vals[i]) != n_values(vals[first])) {
            char a_n[64], b_n[64];
            snprintf(a_n, sizeof a_n, vals[first] && vals[first]->kind == YN_SEQ ? "lists %d values" : "is one value",
                     n_values(vals[first]));
            snprintf(b_n, sizeof b_n, vals[i] && vals[i]->kind == YN_SEQ ? "lists %d" : "is one value",
                     n_values(vals[i]));
            ml_die("%s: zipped keys must list equally many values: '%s' %s, '%s' %s",
                   vals[i] ? ml_config_where(file, vals[i]->line) : where, s->keys[first].path, a_n, k->text, b_n);
        }
        ax->axis_of[i] = a;
    }
    ax->count[a] = n_values(vals[first]);
}

void ml_config_axes_find(const ml_config_schema *s, const ynode *root, const ynode *const *vals, const char *file,
                         ml_config_axes *ax) {
    if (s->n_keys > ML_MAX_CONFIG_KEYS) ml_fatal("internal: more config keys than ML_MAX_CONFIG_KEYS");
    memset(ax, 0, sizeof *ax);
    for (int i = 0; i < s->n_keys; i++) ax->axis_of[i] = -1;
    ax->zip = yn_map_get(root, "zip");
    if (ax->zip && ax->zip->kind != YN_SEQ)
        ml_die("%s: 'zip' must be a list of key lists, e.g. zip: [[model.bias_offset, train.decay]]",
               ml_config_where(file, ax->zip->line));
    /* zip groups first, numbered 0.., then renumbered in key order below */
    int n_zip = ax->zip ? ax->zip->n : 0;
    for (int z = 0; z < n_zip; z++) zip_group(s, ax->zip->items[z], vals, file, ax, z);
    /* Axes in the order of their first key (the order of the schema), so a
     * zip changes which runs exist, never the order of the others. */
    int renum[ML_MAX_CONFIG_KEYS], count[ML_MAX_CONFIG_KEYS];
    for (int z = 0; z < n_zip; z++) renum[z] = -1;
    for (int i = 0; i < s->n_keys; i++) {
        int z = ax->axis_of[i];
        if (z >= 0) {
            if (renum[z] < 0) count[ax->n_axes] = ax->count[z], renum[z] = ax->n_axes++;
            ax->axis_of[i] = renum[z];
        } else if (vals[i] && vals[i]->kind == YN_SEQ) {
            count[ax->n_axes] = vals[i]->n;
            ax->axis_of[i] = ax->n_axes++;
        }
    }
    memcpy(ax->count, count, sizeof(int) * (size_t)ax->n_axes);
}

void ml_config_axes_zip_yaml(const ml_config_axes *ax, ml_sbuf *b) {
    if (!ax->zip) return;
    ml_sb_printf(b, "zip: [");
    for (int z = 0; z < ax->zip->n; z++) {
        const ynode *g = ax->zip->items[z];
        ml_sb_printf(b, "%s[", z ? ", " : "");
        for (int j = 0; j < g->n; j++) ml_sb_printf(b, "%s%s", j ? ", " : "", g->items[j]->text);
        ml_sb_printf(b, "]");
    }
    ml_sb_printf(b, "]\n");
}

void ml_config_axes_describe(const ml_config_axes *ax, const ml_config_schema *s, long n_seeds, ml_sbuf *b) {
    for (int a = 0; a < ax->n_axes; a++) {
        int n_keys = 0;
        for (int i = 0; i < s->n_keys; i++) n_keys += ax->axis_of[i] == a;
        ml_sb_printf(b, "%s%s", a ? " x " : "", n_keys > 1 ? "[" : "");
        for (int i = 0, j = 0; i < s->n_keys; i++)
            if (ax->axis_of[i] == a) ml_sb_printf(b, "%s%s", j++ ? ", " : "", s->keys[i].path);
        ml_sb_printf(b, "%s (%d)", n_keys > 1 ? "] zipped" : "", ax->count[a]);
    }
    ml_sb_printf(b, "%sseeds (%ld)", ax->n_axes ? " x " : "", n_seeds);
}
