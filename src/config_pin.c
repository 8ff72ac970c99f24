/* DIR/config.yaml, the resolved config that pins a sweep folder: written
 * atomically, compared with the config a command was given, and every
 * refusal names the keys and values that differ. A folder may grow: a
 * config whose grid holds every run of the pinned one (seeds or axis
 * values added) extends it. */
#include "monolab/common.h"
#include "monolab/config.h"
#include "monolab/fsutil.h"
#include "monolab/run_ids.h"
#include "monolab/strbuf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The next key of resolved YAML text at *p: its dotted path ("model.k",
 * "seeds") into path and its value text; 0 at the end. The resolved text
 * has one key a line, under one level of sections (config.c's
 * resolved_yaml); section carries the current one between calls. */
static int next_key(const char **p, char *section, char *path, size_t n, const char **val, int *val_len) {
    while (**p) {
        const char *line = *p;
        size_t len = strcspn(line, "\n");
        *p += len + (line[len] == '\n');
        const char *colon = memchr(line, ':', len);
        if (!colon) continue;
        if (colon == line + len - 1 && *line != ' ') { /* "model:" */
            snprintf(section, 64, "%.*s", (int)(len - 1), line);
            continue;
        }
        const char *k = line + strspn(line, " ");
        snprintf(path, n, "%s%s%.*s", *line == ' ' ? section : "", *line == ' ' ? "." : "", (int)(colon - k), k);
        *val = colon + 1 + (colon[1] == ' ');
        *val_len = (int)(line + len - *val);
        return 1;
    }
    return 0;
}

/* The value of key path in resolved text, into val (unchanged if absent). */
static void value_of(const char *text, const char *path, char *val, size_t n) {
    char section[64] = "", key[160];
    const char *v;
    int vl;
    while (next_key(&text, section, key, sizeof key, &v, &vl))
        if (!strcmp(key, path)) snprintf(val, n, "%.*s", vl, v);
}

/* The keys of resolved text a, in order, appended to keys (NUL-separated). */
static void key_list(const char *a, ml_sbuf *keys) {
    char section[64] = "", key[160];
    const char *v;
    int vl;
    while (next_key(&a, section, key, sizeof key, &v, &vl)) ml_sb_put(keys, key, strlen(key) + 1);
}

/* "model.k: [8, 16] there, [8] here; seeds: ..." (fmt: the key, then its
 * value in there and in here) for every key whose value differs (a key only
 * one side has: "(none)"). */
static void differences(const char *there, const char *here, const char *fmt, ml_sbuf *out) {
    ml_sbuf keys = {0};
    key_list(there, &keys);
    key_list(here, &keys);
    for (size_t off = 0; off < keys.n; off += strlen(keys.p + off) + 1) {
        const char *k = keys.p + off;
        int seen = 0; /* each key once: both lists hold most */
        for (size_t o2 = 0; o2 < off && !seen; o2 += strlen(keys.p + o2) + 1) seen = !strcmp(keys.p + o2, k);
        char a[512] = "(none)", b[512] = "(none)";
        value_of(there, k, a, sizeof a);
        value_of(here, k, b, sizeof b);
        if (seen || !strcmp(a, b)) continue;
        ml_sb_printf(out, "%s", out->n ? "; " : "");
        ml_sb_printf(out, fmt, k, a, b);
    }
    free(keys.p);
}

static char *pinned_text(const char *dir, char *path, size_t n) {
    snprintf(path, n, "%s/config.yaml", dir);
    return ml_read_file(path, NULL);
}

char *ml_config_differences(const char *there, const char *here) {
    ml_sbuf d = {0};
    differences(there, here, "%s: %s there, %s here", &d);
    return d.n ? d.p : ml_strdup("the same keys, written differently");
}

static void refuse(const char *path, const char *old, const ml_sweep_config *cfg, const char *advice) {
    ml_die("%s holds a different resolved config (%s); %s", path, ml_config_differences(old, cfg->resolved_yaml),
           advice);
}

void ml_config_check_pin(const ml_sweep_config *cfg, const char *dir, const char *advice) {
    char path[ML_PATH_MAX];
    char *old = pinned_text(dir, path, sizeof path);
    if (old && strcmp(old, cfg->resolved_yaml)) refuse(path, old, cfg, advice);
    free(old);
}

int ml_config_grows(const ml_sweep_config *cfg, const char *dir, const char *advice) {
    char path[ML_PATH_MAX];
    char *old = pinned_text(dir, path, sizeof path);
    if (!old || !strcmp(old, cfg->resolved_yaml)) {
        free(old);
        return 0;
    }
    ml_sweep_config pinned;
    ml_config_load(&pinned, path, 0, NULL);
    int kept = 0;
    for (int i = 0; i < pinned.n_runs; i++)
        kept += ml_run_index_find(cfg->ids, pinned.runs[i].id, strlen(pinned.runs[i].id)) >= 0;
    if (kept < pinned.n_runs) refuse(path, old, cfg, advice);
    ml_sbuf d = {0};
    differences(old, cfg->resolved_yaml, "%s: %s -> %s", &d);
    fprintf(stderr, "[monolab] the sweep in %s grows from %d to %d runs (%s)\n", dir, pinned.n_runs, cfg->n_runs, d.p);
    free(d.p);
    ml_config_free(&pinned);
    free(old);
    return 1;
}

void ml_config_pin(const ml_sweep_config *cfg, const char *dir) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    ml_atomic_file f; /* the exact text: ml_config_check_pin compares it byte for byte */
    ml_atomic_open(&f, path);
    ml_atomic_write(&f, cfg->resolved_yaml, strlen(cfg->resolved_yaml));
    ml_atomic_commit(&f);
}
