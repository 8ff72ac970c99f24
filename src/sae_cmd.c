/* `monolab sae CONFIG.yaml [key=value ...] [-o OUTDIR]`: train the base MLP
 * (or reuse its checkpoint), train every SAE of the config's grid as one
 * group on the MLP's hidden layer, score each one (Foote 2024 Table 2) and
 * write saes.csv, train_log.csv, SAELens-layout checkpoints and config.yaml. */
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/mem_budget.h"
#include "monolab/outdir_lock.h"
#include "monolab/sae_idx.h"
#include "monolab/sae_mlp.h"
#include "monolab/safetensors.h"
#include "monolab/sae.h"
#include "monolab/sae_config.h"
#include "monolab/sae_train.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_CLASSES 10

/* What the MLP checkpoint was trained with; a reused one must match. */
static void mlp_key(const ml_sae_config *c, int d_in, char *buf, size_t n) {
    snprintf(buf, n, "data.dir=%s d_in=%d hidden=%d epochs=%d batch=%d lr=%.17g seed=%ld", c->data_dir, d_in,
             c->mlp_hidden, c->mlp_epochs, c->mlp_batch, c->mlp_lr, c->mlp_seed);
}

/* The base MLP: loaded when its checkpoint exists, else trained and saved. */
static void get_mlp(ml_mlp *m, const ml_sae_config *c, const ml_digits *train, const char *outdir) {
    char path[ML_PATH_MAX], want[1400];
    if (c->mlp_checkpoint[0]) snprintf(path, sizeof path, "%s", c->mlp_checkpoint);
    else snprintf(path, sizeof path, "%s/mlp.safetensors", outdir);
    mlp_key(c, train->dim, want, sizeof want);
    if (ml_file_exists(path)) {
        ml_st_file f;
        ml_st_open(&f, path);
        const char *have = ml_st_meta(&f, "trained_with");
        if (!have || strcmp(have, want))
            ml_die("%s: this MLP checkpoint was trained with '%s', the config asks for '%s' (delete it or set mlp.checkpoint)",
                   path, have ? have : "(unknown)", want);
        ml_st_close(&f);
        ml_mlp_load(m, path, train->dim, c->mlp_hidden, N_CLASSES);
        fprintf(stderr, "[monolab] reusing the MLP checkpoint %s\n", path);
        return;
    }
    if (c->mlp_checkpoint[0]) ml_die("%s: mlp.checkpoint does not exist", path);
    double t0 = ml_now();
    ml_mlp_init(m, train->dim, c->mlp_hidden, N_CLASSES, (uint64_t)c->mlp_seed);
    ml_mlp_train(m, train, c->mlp_epochs, c->mlp_batch, (float)c->mlp_lr, (uint64_t)c->mlp_seed);
    const char *meta[] = {"format", "monolab mlp: relu(x W1^T + b1) W2^T + b2", "trained_with", want};
    ml_mlp_save(m, path, 2, meta);
    fprintf(stderr, "[monolab] MLP trained in %.1f s: %s\n", ml_now() - t0, path);
}

static void write_checkpoint(const char *outdir, const char *id, const ml_sae_config *c, int d, const float *P,
                             double l1, double ln, uint64_t seed) {
    const int n = c->latents;
    const ml_sae_layout lay = ml_sae_layout_of(d, n);
    char dir[ML_PATH_MAX], path[ML_PATH_MAX2];
    snprintf(dir, sizeof dir, "%s/saes/%s", outdir, id);
    ml_mkdirs(dir);
    ml_st_tensor t[4] = {{"W_enc", ML_ST_F32, 2, {d, n}, P + lay.W_enc},
                         {"b_enc", ML_ST_F32, 1, {n}, P + lay.b_enc},
                         {"W_dec", ML_ST_F32, 2, {n, d}, P + lay.W_dec},
                         {"b_dec", ML_ST_F32, 1, {d}, P + lay.b_dec}};
    snprintf(path, sizeof path, "%s/sae_weights.safetensors", dir);
    ml_st_write(path, 4, t, 0, NULL);
    /* SAELens's cfg.json for a standard (ReLU) SAE, plus monolab's hyperparameters */
    cJSON *js = cJSON_CreateObject();
    cJSON_AddStringToObject(js, "architecture", "standard");
    cJSON_AddNumberToObject(js, "d_in", d);
    cJSON_AddNumberToObject(js, "d_sae", n);
    cJSON_AddStringToObject(js, "dtype", "float32");
    cJSON_AddStringToObject(js, "device", "cpu");
    cJSON_AddStringToObject(js, "model_name", "monolab-mlp");
    cJSON_AddStringToObject(js, "hook_name", "mlp.hidden");
    cJSON_AddNumberToObject(js, "hook_layer", 0);
    cJSON_AddNullToObject(js, "hook_head_index");
    cJSON_AddStringToObject(js, "activation_fn_str", "relu");
    cJSON_AddBoolToObject(js, "apply_b_dec_to_input", 1);
    cJSON_AddBoolToObject(js, "finetuning_scaling_factor", 0);
    cJSON_AddStringToObject(js, "normalize_activations", "none");
    cJSON_AddNumberToObject(js, "context_size", 1);
    cJSON_AddBoolToObject(js, "prepend_bos", 0);
    cJSON_AddStringToObject(js, "dataset_path", c->data_dir);
    cJSON_AddNumberToObject(js, "l1_coefficient", l1);
    cJSON_AddNumberToObject(js, "neuron_embedding_coefficient", ln);
    cJSON_AddNumberToObject(js, "neuron_embedding_start_step", (double)c->ln_start);
    cJSON_AddNumberToObject(js, "seed", (double)seed);
    char *text = cJSON_Print(js);
    snprintf(path, sizeof path, "%s/cfg.json", dir);
    ml_atomic_write_text(path, text);
    free(text);
    cJSON_Delete(js);
}

static const char USAGE[] =
    "usage: monolab sae CONFIG.yaml [key=value ...] [-o OUTDIR]\n"
    "\n"
    "Trains the base MLP on an MNIST-style dataset (data.dir), then every SAE of\n"
    "the grid sae.ln x sae.l1 x seeds with the neuron-embedding loss, and scores\n"
    "each as in Foote's Table 2. Keys and outputs: docs/sae.md.\n";

static const ml_cli_opt OPTS[] = {{"--out", "-o", 1}, {NULL}};

int ml_sae_main(int argc, char **argv) {
    const char *cfg_path = NULL, *outdir = NULL;
    char **over = ml_calloc((size_t)argc + 1, sizeof(char *));
    int n_over = 0;
    ml_cli cl = {"sae", USAGE, OPTS, argc, argv, 0};
    char *v;
    for (int k; (k = ml_cli_next(&cl, &v)) != ML_CLI_END;) {
        if (k == 0) outdir = v;
        else ml_cli_config_arg("sae", v, &cfg_path, over, &n_over);
    }
    if (!cfg_path) ml_cli_usage_die("sae", "missing CONFIG.yaml", NULL);
    ml_sae_config c;
    ml_sae_config_load(&c, cfg_path, n_over, over);
    free(over);
    char defdir[ML_DIR_MAX];
    if (!outdir) {
        ml_default_outdir(defdir, sizeof defdir, "", cfg_path);
        outdir = defdir;
    }
    double t_start = ml_now();
    ml_digits train, test;
    ml_digits_load(&train, c.data_dir, "train", N_CLASSES);
    ml_digits_load(&test, c.data_dir, "t10k", N_CLASSES);
    if (test.dim != train.dim) ml_die("%s: test images have %d pixels, training images %d", c.data_dir, test.dim, train.dim);
    ml_outdir_claim(outdir); /* one command per folder; removes a killed run's temporary files */
    ml_mlp mlp;
    get_mlp(&mlp, &c, &train, outdir); /* the last check that can fail: nothing is written before it */
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/config.yaml", outdir);
    ml_atomic_file af;
    ml_atomic_open(&af, path);
    ml_atomic_write(&af, c.resolved_yaml, strlen(c.resolved_yaml));
    ml_atomic_commit(&af);
    const int d = mlp.hidden, n = c.latents;
    float *Htr = ml_malloc(sizeof(float) * (size_t)train.n * d), *Hte = ml_malloc(sizeof(float) * (size_t)test.n * d);
    ml_mlp_hidden(&mlp, train.x, train.n, Htr);
    ml_mlp_hidden(&mlp, test.x, test.n, Hte);
    const double base_acc = ml_mlp_accuracy(&mlp, Hte, test.y, test.n);
    printf("base MLP %d-%d-%d: test accuracy %.4f\n", train.dim, d, N_CLASSES, base_acc);

    /* the group: λ2 outermost, then λ1, seeds innermost */
    const int G = c.n_ln * c.n_l1 * c.n_seeds;
    ml_sae_group g = {G, d, n, c.sae_batch, (float)c.sae_lr, c.ln_start, NULL, NULL, NULL};
    g.seed = ml_malloc(sizeof(uint64_t) * G);
    g.l1 = ml_malloc(sizeof(float) * G);
    g.ln = ml_malloc(sizeof(float) * G);
    char (*ids)[16] = ml_malloc(sizeof *ids * (size_t)G);
    const char **idp = ml_malloc(sizeof(char *) * G);
    const ml_sae_layout lay = ml_sae_layout_of(d, n);
    /* per model: init and final parameters, the trainer's parameters,
     * gradients and two Adam moments, and a batch of latents */
    ml_mem_check("sae (sae.latents x the grid)", 4.0 * G * (6.0 * lay.n_param + 2.0 * c.sae_batch * n), NULL,
                 "use fewer sae.latents or a smaller grid");
    float *init = ml_malloc(sizeof(float) * (size_t)G * lay.n_param), *fin = ml_malloc(sizeof(float) * (size_t)G * lay.n_param);
    for (int a = 0, gi = 0; a < c.n_ln; a++)
        for (int b = 0; b < c.n_l1; b++)
            for (int s = 0; s < c.n_seeds; s++, gi++) {
                g.ln[gi] = (float)c.ln[a];
                g.l1[gi] = (float)c.l1[b];
                g.seed[gi] = c.seeds[s];
                snprintf(ids[gi], sizeof ids[gi], "s%03d", gi);
                idp[gi] = ids[gi];
                ml_sae_init(d, n, g.seed[gi], init + (size_t)gi * lay.n_param);
            }
    snprintf(path, sizeof path, "%s/train_log.csv", outdir);
    ml_atomic_open(&af, path);
    ml_atomic_printf(&af, "sae,step,mse,l1,ln,loss\n");
    ml_sae_terms *terms = ml_malloc(sizeof(ml_sae_terms) * G);
    double t0 = ml_now();
    ml_sae_train(&ml_sae_cpu, &g, init, Htr, train.n, c.sae_epochs, fin, terms, af.f, c.log_every, idp);
    ml_atomic_commit(&af);
    const double t_train = ml_now() - t0;

    t0 = ml_now();
    ml_sae_score *sc = ml_malloc(sizeof(ml_sae_score) * G);
    for (int gi = 0; gi < G; gi++)
        ml_sae_score_one(&mlp, Hte, test.y, test.n, base_acc, n, fin + (size_t)gi * lay.n_param, &c.embed, &sc[gi]);
    const double t_score = ml_now() - t0;

    snprintf(path, sizeof path, "%s/saes.csv", outdir);
    ml_atomic_open(&af, path);
    ml_atomic_printf(&af, "sae_id,seed,l1_coef,ln_coef,latents,batch,lr,steps,ln_start,final_loss,mse,l1,l0,dead_frac,"
                          "base_acc,acc,acc_drop,median_max_dist,median_mean_dist,scored_latents\n");
    const long steps = (long)(train.n / c.sae_batch) * c.sae_epochs;
    printf("%-5s %5s %9s %9s %9s %9s %7s %7s %8s %8s %8s\n", "sae", "seed", "l1_coef", "ln_coef", "mse", "l1", "l0",
           "dead", "acc_drop", "med_max", "med_mean");
    for (int gi = 0; gi < G; gi++) {
        const ml_sae_score *s = &sc[gi];
        ml_atomic_printf(&af, "%s,%llu,%.9g,%.9g,%d,%d,%.9g,%ld,%ld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%d\n",
                         ids[gi], (unsigned long long)g.seed[gi], g.l1[gi], g.ln[gi], n, c.sae_batch, c.sae_lr, steps,
                         c.ln_start, terms[gi].loss, s->mse, s->l1, s->l0, s->dead, base_acc, s->acc, s->acc_drop,
                         s->med_max_dist, s->med_mean_dist, s->scored);
        printf("%-5s %5llu %9.3g %9.3g %9.4f %9.3f %7.4f %7.4f %8.4f %8.3f %8.3f\n", ids[gi],
               (unsigned long long)g.seed[gi], g.l1[gi], g.ln[gi], s->mse, s->l1, s->l0, s->dead, s->acc_drop,
               s->med_max_dist, s->med_mean_dist);
        write_checkpoint(outdir, ids[gi], &c, d, fin + (size_t)gi * lay.n_param, g.l1[gi], g.ln[gi], g.seed[gi]);
    }
    snprintf(path, sizeof path, "%s/saes", outdir);
    ml_prune_numbered(path, "s", G); /* saes/sNNN of an earlier, larger grid */
    ml_atomic_commit(&af);
    fprintf(stderr, "[monolab] %d SAEs: training %.1f s, scoring %.1f s, whole command %.1f s; wrote %s/saes.csv, "
                    "train_log.csv, saes/*/ (SAELens layout)\n",
            G, t_train, t_score, ml_now() - t_start, outdir);
    free(Htr); free(Hte); free(g.seed); free(g.l1); free(g.ln); free(ids); free(idp);
    free(init); free(fin); free(terms); free(sc);
    ml_mlp_free(&mlp);
    ml_digits_free(&train);
    ml_digits_free(&test);
    ml_sae_config_free(&c);
    return 0;
}
