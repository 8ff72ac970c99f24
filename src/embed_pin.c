/* embed_settings.txt: what an embed output folder was made from (see
 * include/monolab/embed_pin.h). One key=value per line, compared line by line
 * so the refusal can name the first setting that differs. */
#include "monolab/embed_pin.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void settings_text(char *buf, size_t n, const char *input, const ml_embed_opts *o) {
    char *abs = realpath(input, NULL), seed[32];
    if (o->seed_set) snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    else snprintf(seed, sizeof seed, "model");
    snprintf(buf, n,
             "input=%s\nembedding=%s\nact_frac=%.15g\nmax_examples=%d\nthreshold=%.15g\nsamples=%d\nseed=%s\n"
             "feature_frac=%.15g\nsimilar=%d\nprobe=%s", /* ml_atomic_write_text adds the last newline */
             abs ? abs : input, o->pre_mlp ? "pre-mlp" : "neuron", o->act_frac, o->max_examples, o->threshold,
             o->samples, seed, o->feat_frac, o->similar, ml_probe_name(o->probe));
    free(abs);
}

/* The reader of settings_text's lines: explore rebuilds exactly the layer
 * that embed worked on from them (the same probe inputs for a toy model). */
void ml_embed_settings_read(const char *dir, char *input, size_t input_n, ml_embed_opts *o) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/embed_settings.txt", dir);
    char *text = ml_read_file(path, NULL);
    if (!text) ml_die("%s: missing (is %s a `monolab embed` output folder of this version?)", path, dir);
    *o = ml_embed_opts_default();
    input[0] = 0;
    int line = 0;
    unsigned seen = 0;
    static const char *const KEYS[] = {"input", "embedding", "act_frac", "max_examples", "threshold", "samples",
                                       "seed", "feature_frac", "similar", "probe"};
    enum { NK = sizeof KEYS / sizeof *KEYS };
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        line++;
        char *v = strchr(l, '=');
        int k = 0;
        if (v) *v++ = 0;
        while (v && k < NK && strcmp(l, KEYS[k])) k++;
        if (!v || k == NK) ml_die("%s:%d: not a setting of this version of embed: '%s'", path, line, l);
        int bad = 0;
        char *end = v + strlen(v); /* numbers move it to where they end */
        switch (k) {
        case 0: snprintf(input, input_n, "%s", v); bad = !*v || strlen(v) >= input_n; break;
        case 1: o->pre_mlp = !strcmp(v, "pre-mlp"); bad = !o->pre_mlp && strcmp(v, "neuron"); break;
        case 2: o->act_frac = strtod(v, &end); break;
        case 3: o->max_examples = (int)strtol(v, &end, 10); break;
        case 4: o->threshold = strtod(v, &end); break;
        case 5: o->samples = (int)strtol(v, &end, 10); break;
        case 6:
            o->seed_set = strcmp(v, "model") != 0;
            if (o->seed_set) o->seed = strtoull(v, &end, 10);
            break;
        case 7: o->feat_frac = strtod(v, &end); break;
        case 8: o->similar = (int)strtol(v, &end, 10); break;
        case 9: bad = (int)(o->probe = (ml_probe)ml_enum_parse(ML_PROBE_NAMES, v)) < 0; break;
        }
        if (bad || !*v || *end) ml_die("%s:%d: bad value '%s' for %s", path, line, v, KEYS[k]);
        seen |= 1u << k;
    }
    free(text);
    for (int k = 0; k < NK; k++)
        if (!(seen & 1u << k)) ml_die("%s: setting '%s' is missing", path, KEYS[k]);
}

/* The first line of a that differs from b's, into line (empty if none). */
static void first_difference(const char *a, const char *b, char *line, size_t n) {
    line[0] = 0;
    while (*a || *b) {
        size_t la = strcspn(a, "\n"), lb = strcspn(b, "\n");
        if (la != lb || strncmp(a, b, la)) {
            snprintf(line, n, "%.*s", (int)la, a);
            return;
        }
        a += la + (a[la] == '\n');
        b += lb + (b[lb] == '\n');
    }
}

/* The first folder outdir, outdir_2, outdir_3, ... that is free or holds this very embedding. */
static void free_name(const char *outdir, const char *input, const ml_embed_opts *o, char *buf, size_t n) {
    snprintf(buf, n, "%s", outdir);
    for (int s = 2; !ml_embed_pin_usable(buf, input, o); s++) snprintf(buf, n, "%s_%d", outdir, s);
}

int ml_embed_pin_usable(const char *outdir, const char *input, const ml_embed_opts *o) {
    char path[ML_PATH_MAX2], now[PATH_MAX + 512];
    settings_text(now, sizeof now, input, o);
    snprintf(path, sizeof path, "%s/embed_settings.txt", outdir);
    char *old = ml_read_file(path, NULL);
    if (old) {
        int same = !strcmp(old, now);
        free(old);
        return same;
    }
    snprintf(path, sizeof path, "%s/neurons.csv", outdir);
    return !ml_file_exists(path);
}

void ml_embed_pin_default(char *outdir, size_t n, const char *input, const ml_embed_opts *o) {
    char fresh[ML_PATH_MAX];
    free_name(outdir, input, o, fresh, sizeof fresh);
    if (strcmp(fresh, outdir))
        fprintf(stderr, "[monolab] %s holds the embedding of another input or other settings: writing to %s\n", outdir, fresh);
    snprintf(outdir, n, "%s", fresh);
}

void ml_embed_pin_check(const char *outdir, const char *input, const ml_embed_opts *o) {
    char path[ML_PATH_MAX], now[PATH_MAX + 512], fresh[ML_PATH_MAX];
    free_name(outdir, input, o, fresh, sizeof fresh);
    settings_text(now, sizeof now, input, o);
    snprintf(path, sizeof path, "%s/embed_settings.txt", outdir);
    char *old = ml_read_file(path, NULL);
    if (old) {
        char was[PATH_MAX + 64], is[PATH_MAX + 64];
        first_difference(old, now, was, sizeof was);
        first_difference(now, old, is, sizeof is);
        free(old);
        if (was[0] || is[0])
            ml_die("%s holds the embed output of another input or other settings (there %s, here %s); pass "
                   "-o %s or remove that folder",
                   outdir, was[0] ? was : "(none)", is[0] ? is : "(none)", fresh);
    } else {
        snprintf(path, sizeof path, "%s/neurons.csv", outdir);
        if (ml_file_exists(path))
            ml_die("%s holds embed output that does not say what it was made from (no embed_settings.txt); "
                   "pass -o %s or remove that folder", outdir, fresh);
    }
}

void ml_embed_pin_write(const char *outdir, const char *input, const ml_embed_opts *o) {
    char path[ML_PATH_MAX], now[PATH_MAX + 512];
    settings_text(now, sizeof now, input, o);
    ml_mkdirs(outdir);
    snprintf(path, sizeof path, "%s/embed_settings.txt", outdir);
    ml_atomic_write_text(path, now);
}
