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

/* The command line: the config with its key=value overrides, loaded, and
 * the output folder (the config file's name unless -o). */
static const char *parse_args(int argc, char **argv, ml_sae_config *c, char *defdir, size_t defdir_size) {
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
    ml_sae_config_load(c, cfg_path, n_over, over);
    free(over);
    if (!outdir) {
        ml_default_outdir(defdir, defdir_size, "", cfg_path);
        outdir = defdir;
    }
    return outdir;
}

static void load_digits(ml_digits *train, ml_digits *test, const ml_sae_config *c) {
    ml_digits_load(train, c->data_dir, "train", N_CLASSES);
    ml_digits_load(test, c->data_dir, "t10k", N_CLASSES);
    if (test->dim != train->dim)
        ml_die("%s: test images have %d pixels, training images %d", c->data_dir, test->dim, train->dim);
}

static void write_config_yaml(const char *outdir, const ml_sae_config *c) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/config.yaml", outdir);
    ml_atomic_file af;
    ml_atomic_open(&af, path);
    ml_atomic_write(&af, c->resolved_yaml, strlen(c->resolved_yaml));
    ml_atomic_commit(&af);
}

/* Every SAE of the grid, as one group, with what training and scoring give. */
typedef struct {
    ml_sae_group g;
    ml_sae_layout lay;
    char (*ids)[16];
    const char **idp;
    float *init, *fin; /* [G][n_param] */
    ml_sae_terms *terms;
    ml_sae_score *sc;
} sae_grid;

/* The group: λ2 outermost, then λ1, seeds innermost; each SAE initialised
 * from its seed. */
static void build_grid(sae_grid *s, const ml_sae_config *c, int d) {
    const int n = c->latents, G = c->n_ln * c->n_l1 * c->n_seeds;
    s->g = (ml_sae_group){G, d, n, c->sae_batch, (float)c->sae_lr, c->ln_start, NULL, NULL, NULL};
    s->g.seed = ml_malloc(sizeof(uint64_t) * G);
    s->g.l1 = ml_malloc(sizeof(float) * G);
    s->g.ln = ml_malloc(sizeof(float) * G);
    s->ids = ml_malloc(sizeof *s->ids * (size_t)G);
    s->idp = ml_malloc(sizeof(char *) * G);
    s->lay = ml_sae_layout_of(d, n);
    /* per model: init and final parameters, the trainer's parameters,
     * gradients and two Adam moments, and a batch of latents */
    ml_mem_check("sae (sae.latents x the grid)", 4.0 * G * (6.0 * s->lay.n_param + 2.0 * c->sae_batch * n), NULL,
                 "use fewer sae.latents or a smaller grid");
    s->init = ml_malloc(sizeof(float) * (size_t)G * s->lay.n_param);
    s->fin = ml_malloc(sizeof(float) * (size_t)G * s->lay.n_param);
    for (int a = 0, gi = 0; a < c->n_ln; a++)
        for (int b = 0; b < c->n_l1; b++)
            for (int sd = 0; sd < c->n_seeds; sd++, gi++) {
                s->g.ln[gi] = (float)c->ln[a];
                s->g.l1[gi] = (float)c->l1[b];
                s->g.seed[gi] = c->seeds[sd];
                snprintf(s->ids[gi], sizeof s->ids[gi], "s%03d", gi);
                s->idp[gi] = s->ids[gi];
                ml_sae_init(d, n, s->g.seed[gi], s->init + (size_t)gi * s->lay.n_param);
            }
}

/* Trains the group on the training set's hidden layer, logging to train_log.csv. */
static double train_grid(sae_grid *s, const ml_sae_config *c, const float *Htr, int n_train, const char *outdir) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/train_log.csv", outdir);
    ml_atomic_file af;
    ml_atomic_open(&af, path);
    ml_atomic_printf(&af, "sae,step,mse,l1,ln,loss\n");
    s->terms = ml_malloc(sizeof(ml_sae_terms) * s->g.G);
    double t0 = ml_now();
    ml_sae_train(&ml_sae_cpu, &s->g, s->init, Htr, n_train, c->sae_epochs, s->fin, s->terms, af.f, c->log_every,
                 s->idp);
    ml_atomic_commit(&af);
    return ml_now() - t0;
}

/* Scores each trained SAE on the test set (Foote 2024 Table 2). */
static double score_grid(sae_grid *s, const ml_sae_config *c, const ml_mlp *mlp, const float *Hte,
                         const ml_digits *test, double base_acc) {
    double t0 = ml_now();
    s->sc = ml_malloc(sizeof(ml_sae_score) * s->g.G);
    for (int gi = 0; gi < s->g.G; gi++)
        ml_sae_score_one(mlp, Hte, test->y, test->n, base_acc, c->latents, s->fin + (size_t)gi * s->lay.n_param,
                         &c->embed, &s->sc[gi]);
    return ml_now() - t0;
}

/* saes.csv and the table on stdout, one row per SAE, and its checkpoint. */
static void write_results(const sae_grid *s, const ml_sae_config *c, int n_train, double base_acc,
                          const char *outdir) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/saes.csv", outdir);
    ml_atomic_file af;
    ml_atomic_open(&af, path);
    ml_atomic_printf(&af, "sae_id,seed,l1_coef,ln_coef,latents,batch,lr,steps,ln_start,final_loss,mse,l1,l0,dead_frac,"
                          "base_acc,acc,acc_drop,median_max_dist,median_mean_dist,scored_latents\n");
    const long steps = (long)(n_train / c->sae_batch) * c->sae_epochs;
    printf("%-5s %5s %9s %9s %9s %9s %7s %7s %8s %8s %8s\n", "sae", "seed", "l1_coef", "ln_coef", "mse", "l1", "l0",
           "dead", "acc_drop", "med_max", "med_mean");
    const ml_sae_group *g = &s->g;
    for (int gi = 0; gi < g->G; gi++) {
        const ml_sae_score *sc = &s->sc[gi];
        ml_atomic_printf(&af, "%s,%llu,%.9g,%.9g,%d,%d,%.9g,%ld,%ld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%d\n",
                         s->ids[gi], (unsigned long long)g->seed[gi], g->l1[gi], g->ln[gi], c->latents, c->sae_batch,
                         c->sae_lr, steps, c->ln_start, s->terms[gi].loss, sc->mse, sc->l1, sc->l0, sc->dead, base_acc,
                         sc->acc, sc->acc_drop, sc->med_max_dist, sc->med_mean_dist, sc->scored);
        printf("%-5s %5llu %9.3g %9.3g %9.4f %9.3f %7.4f %7.4f %8.4f %8.3f %8.3f\n", s->ids[gi],
               (unsigned long long)g->seed[gi], g->l1[gi], g->ln[gi], sc->mse, sc->l1, sc->l0, sc->dead, sc->acc_drop,
               sc->med_max_dist, sc->med_mean_dist);
        write_checkpoint(outdir, s->ids[gi], c, g->d, s->fin + (size_t)gi * s->lay.n_param, g->l1[gi], g->ln[gi],
                         g->seed[gi]);
    }
    char saes[ML_PATH_MAX];
    snprintf(saes, sizeof saes, "%s/saes", outdir);
    ml_prune_numbered(saes, "s", g->G); /* saes/sNNN of an earlier, larger grid */
    ml_atomic_commit(&af);
}

static void free_grid(sae_grid *s) {
    free(s->g.seed); free(s->g.l1); free(s->g.ln); free(s->ids); free(s->idp);
    free(s->init); free(s->fin); free(s->terms); free(s->sc);
}

int ml_sae_main(int argc, char **argv) {
    ml_sae_config c;
    char defdir[ML_DIR_MAX];
    const char *outdir = parse_args(argc, argv, &c, defdir, sizeof defdir);
    double t_start = ml_now();
    ml_digits train, test;
    load_digits(&train, &test, &c);
    ml_outdir_claim(outdir); /* one command per folder; removes a killed run's temporary files */
    ml_mlp mlp;
    get_mlp(&mlp, &c, &train, outdir); /* the last check that can fail: nothing is written before it */
    write_config_yaml(outdir, &c);
    /* the SAEs' data: the MLP's hidden layer on both sets */
    const int d = mlp.hidden;
    float *Htr = ml_malloc(sizeof(float) * (size_t)train.n * d), *Hte = ml_malloc(sizeof(float) * (size_t)test.n * d);
    ml_mlp_hidden(&mlp, train.x, train.n, Htr);
    ml_mlp_hidden(&mlp, test.x, test.n, Hte);
    const double base_acc = ml_mlp_accuracy(&mlp, Hte, test.y, test.n);
    printf("base MLP %d-%d-%d: test accuracy %.4f\n", train.dim, d, N_CLASSES, base_acc);

    sae_grid s;
    build_grid(&s, &c, d);
    const double t_train = train_grid(&s, &c, Htr, train.n, outdir);
    const double t_score = score_grid(&s, &c, &mlp, Hte, &test, base_acc);
    write_results(&s, &c, train.n, base_acc, outdir);
    fprintf(stderr, "[monolab] %d SAEs: training %.1f s, scoring %.1f s, whole command %.1f s; wrote %s/saes.csv, "
                    "train_log.csv, saes/*/ (SAELens layout)\n",
            s.g.G, t_train, t_score, ml_now() - t_start, outdir);
    free(Htr); free(Hte);
    free_grid(&s);
    ml_mlp_free(&mlp);
    ml_digits_free(&train);
    ml_digits_free(&test);
    ml_sae_config_free(&c);
    return 0;
}
