/* `monolab sae` config: its table of keys for the one config loader
 * (src/config_schema.c), and the resolved text written to
 * OUTDIR/config.yaml. */
#include "monolab/sae_config.h"
#include "monolab/common.h"
#include "monolab/config_schema.h"
#include "monolab/strbuf.h"
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(ml_sae_config, f)
#define STR(f) OFF(f), sizeof(((ml_sae_config *)0)->f)
/* Defaults: Foote 2024 §4 sizes on Fashion-MNIST (Debian's dataset-fashion-mnist). */
static const ml_config_key KEYS[] = {
    {"name", ML_KEY_STR, STR(name), NULL, "sae", 0, 0, 0, 0},
    {"data.dir", ML_KEY_STR, STR(data_dir), NULL, "/usr/share/datasets/fashion-mnist", 0, 0, 0, 0},
    {"mlp.hidden", ML_KEY_INT, OFF(mlp_hidden), 0, NULL, "64", 1, 4096, 0, 0},
    {"mlp.epochs", ML_KEY_INT, OFF(mlp_epochs), 0, NULL, "3", 1, 1000, 0, 0},
    {"mlp.batch", ML_KEY_INT, OFF(mlp_batch), 0, NULL, "64", 1, 1 << 20, 0, 0},
    {"mlp.lr", ML_KEY_DOUBLE, OFF(mlp_lr), 0, NULL, "0.001", 1e-12, 10, 0, 0},
    {"mlp.seed", ML_KEY_LONG, OFF(mlp_seed), 0, NULL, "0", 0, 2147483647.0, 0, 0},
    {"mlp.checkpoint", ML_KEY_STR, STR(mlp_checkpoint), NULL, "''", 0, 0, 0, 0},
    {"sae.latents", ML_KEY_INT, OFF(latents), 0, NULL, "512", 1, 1 << 20, 0, 0},
    {"sae.epochs", ML_KEY_INT, OFF(sae_epochs), 0, NULL, "1", 1, 1000, 0, 0},
    {"sae.batch", ML_KEY_INT, OFF(sae_batch), 0, NULL, "64", 1, 1 << 20, 0, 0},
    {"sae.lr", ML_KEY_DOUBLE, OFF(sae_lr), 0, NULL, "0.001", 1e-12, 10, 0, 0},
    {"sae.l1", ML_KEY_DOUBLE, OFF(l1), 0, NULL, "0.001", 0, 1e6, 0, ML_SAE_MAX_COEFS},
    {"sae.ln", ML_KEY_DOUBLE, OFF(ln), 0, NULL, "0", 0, 1e6, 0, ML_SAE_MAX_COEFS},
    {"sae.ln_start", ML_KEY_LONG, OFF(ln_start), 0, NULL, "200", 0, 2147483647.0, 0, 0},
    {"sae.log_every", ML_KEY_INT, OFF(log_every), 0, NULL, "50", 1, 1 << 30, 0, 0},
    {"embed.act_frac", ML_KEY_DOUBLE, OFF(embed.act_frac), 0, NULL, "0.75", 0, 1, 0, 0},
    {"embed.max_examples", ML_KEY_INT, OFF(embed.max_examples), 0, NULL, "100", 2, 4096, 0, 0},
    {"embed.threshold", ML_KEY_DOUBLE, OFF(embed.threshold), 0, NULL, "0.5", 0, 2, 0, 0},
};
#define NKEYS ((int)(sizeof KEYS / sizeof KEYS[0]))
static const char *const EXTRA[] = {"seeds", NULL};
static const ml_config_schema SCHEMA = {KEYS, NKEYS, EXTRA};

/* Key k's value (node v, a scalar or for sae.l1/sae.ln a list) into c and,
 * in the resolved text's form, into b. */
static void take(ml_sae_config *c, const ml_config_key *k, const ynode *v, const char *file, ml_sbuf *b) {
    char *dst = (char *)c + k->off;
    if (k->type == ML_KEY_STR) {
        ml_config_value(k, v, file, dst);
        ml_sb_put(b, "'", 1);
        for (const char *q = dst; *q; q++) /* YAML single quotes: ' doubles */
            ml_sb_put(b, *q == '\'' ? "''" : q, *q == '\'' ? 2 : 1);
        ml_sb_put(b, "'", 1);
    } else if (k->max_list) { /* a grid axis: always written as a list */
        int cnt = v->kind == YN_SEQ ? v->n : 1;
        double *arr = (double *)dst;
        ml_sb_put(b, "[", 1);
        for (int i = 0; i < cnt; i++) {
            ml_config_value(k, v->kind == YN_SEQ ? v->items[i] : v, file, &arr[i]);
            ml_sb_printf(b, "%s%.17g", i ? ", " : "", arr[i]);
        }
        ml_sb_put(b, "]", 1);
        *(k->off == OFF(l1) ? &c->n_l1 : &c->n_ln) = cnt;
    } else {
        ml_config_value(k, v, file, dst);
        if (k->type == ML_KEY_DOUBLE) ml_sb_printf(b, "%.17g", *(double *)dst);
        else if (k->type == ML_KEY_LONG) ml_sb_printf(b, "%ld", *(long *)dst);
        else ml_sb_printf(b, "%d", *(int *)dst);
    }
}

static void take_seeds(ml_sae_config *c, const ynode *root, const char *file, ml_sbuf *b) {
    uint64_t *list;
    c->n_seeds = (int)ml_config_seeds(root, file, ML_SAE_MAX_SEEDS, &list);
    ml_sb_printf(b, "seeds: [");
    for (int i = 0; i < c->n_seeds; i++) {
        c->seeds[i] = list ? list[i] : (uint64_t)i;
        ml_sb_printf(b, "%s%llu", i ? ", " : "", (unsigned long long)c->seeds[i]);
    }
    ml_sb_printf(b, "]\n");
    free(list);
}

void ml_sae_config_load(ml_sae_config *c, const char *path, int n_over, char **overrides) {
    memset(c, 0, sizeof *c);
    c->embed = ml_embed_opts_default();
    const ynode *vals[NKEYS];
    ynode *root = ml_config_read(&SCHEMA, path, n_over, overrides, vals);
    ml_sbuf b = {0};
    for (int i = 0; i < NKEYS; i++) {
        const char *p = KEYS[i].path, *dot = strchr(p, '.');
        const char *prev = i ? KEYS[i - 1].path : "";
        if (dot && strncmp(prev, p, (size_t)(dot - p) + 1)) ml_sb_printf(&b, "%.*s:\n", (int)(dot - p), p);
        ml_sb_printf(&b, "%s%s: ", dot ? "  " : "", dot ? dot + 1 : p);
        ynode *def;
        take(c, &KEYS[i], ml_config_node_or_default(&KEYS[i], vals[i], &def), path, &b);
        yn_free(def);
        ml_sb_put(&b, "\n", 1);
        if (i == 0) take_seeds(c, root, path, &b); /* right after the name, as in every resolved config */
    }
    yn_free(root);
    c->resolved_yaml = b.p;
    if ((long)c->n_l1 * c->n_ln * c->n_seeds > 4096)
        ml_die("%s: sae.l1 x sae.ln x seeds makes %d SAEs; at most 4096 per launch", path, c->n_l1 * c->n_ln * c->n_seeds);
}

void ml_sae_config_free(ml_sae_config *c) {
    free(c->resolved_yaml);
    c->resolved_yaml = NULL;
}
