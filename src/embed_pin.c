/* embed_settings.txt: what an embed output folder was made from (see
 * include/monolab/embed_pin.h). One key=value per line, compared line by line
 * so the refusal can name the first setting that differs. */
#include "monolab/embed_pin.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/toy_probe.h"
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
    char path[4400], now[PATH_MAX + 512];
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
    char fresh[4200];
    free_name(outdir, input, o, fresh, sizeof fresh);
    if (strcmp(fresh, outdir))
        fprintf(stderr, "[monolab] %s holds the embedding of another input or other settings: writing to %s\n", outdir, fresh);
    snprintf(outdir, n, "%s", fresh);
}

void ml_embed_pin_check(const char *outdir, const char *input, const ml_embed_opts *o) {
    char path[4200], now[PATH_MAX + 512], fresh[4200];
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
    char path[4200], now[PATH_MAX + 512];
    settings_text(now, sizeof now, input, o);
    ml_mkdirs(outdir);
    snprintf(path, sizeof path, "%s/embed_settings.txt", outdir);
    ml_atomic_write_text(path, now);
}
