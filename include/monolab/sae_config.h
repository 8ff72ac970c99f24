/* `monolab sae` configuration: YAML + key=value overrides, validated
 * against the schema in sae_config.c (the one list of keys and defaults).
 * sae.l1, sae.ln and seeds may be lists: their product is the group. */
#ifndef MONOLAB_SAE_CONFIG_H
#define MONOLAB_SAE_CONFIG_H
#include "monolab/embed_layer.h"
#include <stdint.h>

#define ML_SAE_MAX_COEFS 64  /* values of sae.l1, of sae.ln */
#define ML_SAE_MAX_SEEDS 256

typedef struct {
    char name[128];
    char data_dir[1024];
    int mlp_hidden, mlp_epochs, mlp_batch;
    double mlp_lr;
    long mlp_seed;
    char mlp_checkpoint[1024]; /* "" = OUTDIR/mlp.safetensors */
    int latents, sae_epochs, sae_batch, log_every;
    double sae_lr;
    long ln_start;
    int n_l1, n_ln, n_seeds;
    double l1[ML_SAE_MAX_COEFS], ln[ML_SAE_MAX_COEFS];
    uint64_t seeds[ML_SAE_MAX_SEEDS];
    ml_embed_opts embed;
    char *resolved_yaml; /* canonical text for OUTDIR/config.yaml */
} ml_sae_config;

/* Exits 2 with file:line and the key on any error. */
void ml_sae_config_load(ml_sae_config *c, const char *path, int n_over, char **overrides);
void ml_sae_config_free(ml_sae_config *c);

#endif
