/* `monolab embed INPUT`: load the layer, select examples, embed and
 * cluster every neuron, write neurons.csv, examples.csv,
 * linkage.safetensors and, for toy models, summary.json. */
#include "monolab/backend.h"
#include "monolab/common.h"
#include "monolab/cli.h"
#include "monolab/embed_layer.h"
#include "monolab/embed_pin.h"
#include "monolab/embed_similar.h"
#include "monolab/fsutil.h"
#include "monolab/outdir_lock.h"
#include "monolab/safetensors.h"
#include "monolab/toy_truth.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS                                                                                                       \
    "INPUT [-o OUTDIR] [--device auto|cpu|cuda] [--embedding neuron|pre-mlp]\n"                                    \
    "                     [--act-frac 0.75] [--max-examples 100] [--threshold 0.5] [--samples 4096]\n"             \
    "                     [--seed S] [--feature-frac 0.1] [--similar 20] [--probe training|single|pair]"

static const char USAGE[] =
    "usage: monolab embed " ARGS "\n"
    "\n"
    "Neuron embeddings and their clusters for every neuron of a layer. INPUT is an\n"
    "activation file (pre_mlp [T, d], W_in [d, n]) or a checkpoint of `monolab sweep`.\n"
    "Writes neurons.csv, examples.csv, linkage.safetensors, clusters.csv,\n"
    "similar.safetensors (and summary.json for toy checkpoints) into OUTDIR\n"
    "(default runs/embed_<input name>). See README.md \"embed\" for every option.\n";

static double num_arg(const char *flag, const char *v, double lo, double hi) {
    return ml_cli_number("embed", flag, v, lo, hi);
}

static void write_outputs(const char *outdir, const ml_layer *L, const ml_selection *sel, const ml_neuron_result *res,
                          const ml_embed_opts *o) {
    char path[ML_PATH_MAX];
    ml_atomic_file f;
    snprintf(path, sizeof path, "%s/neurons.csv", outdir);
    ml_atomic_open(&f, path);
    ml_atomic_printf(&f, "neuron,n_examples,n_clusters,max_dist,mean_dist,mean_intra,mean_inter%s\n",
                     L->true_features ? ",true_features,input_features" : "");
    for (int j = 0; j < L->n; j++) {
        const ml_neuron_result *r = &res[j];
        ml_atomic_printf(&f, "%d,%d,%d,%.9g,%.9g,%.9g,%.9g", j, sel[j].n, r->n_clusters, r->max_dist, r->mean_dist,
                         r->mean_intra, r->mean_inter);
        if (L->true_features) ml_atomic_printf(&f, ",%d,%d", L->true_features[j], L->input_features[j]);
        ml_atomic_printf(&f, "\n");
    }
    ml_atomic_commit(&f);

    snprintf(path, sizeof path, "%s/examples.csv", outdir);
    ml_atomic_open(&f, path);
    ml_atomic_printf(&f, "neuron,example,token,cluster,activation\n");
    for (int j = 0; j < L->n; j++)
        for (int a = 0; a < sel[j].n; a++)
            ml_atomic_printf(&f, "%d,%lld,%lld,%d,%.9g\n", j, (long long)sel[j].example[a], (long long)sel[j].row[a],
                             res[j].labels[a], sel[j].act[a]);
    ml_atomic_commit(&f);

    /* all linkage matrices stacked; neuron j's rows are offsets[j]..offsets[j+1] */
    int64_t *offsets = ml_malloc(sizeof(int64_t) * ((size_t)L->n + 1));
    offsets[0] = 0;
    for (int j = 0; j < L->n; j++) offsets[j + 1] = offsets[j] + (sel[j].n > 1 ? sel[j].n - 1 : 0);
    double *Z = ml_malloc(sizeof(double) * 4 * (size_t)(offsets[L->n] ? offsets[L->n] : 1));
    for (int j = 0; j < L->n; j++)
        memcpy(Z + 4 * offsets[j], res[j].Z, sizeof(double) * 4 * (size_t)(offsets[j + 1] - offsets[j]));
    char thr[32], frac[32], cap[32];
    snprintf(thr, sizeof thr, "%g", o->threshold);
    snprintf(frac, sizeof frac, "%g", o->act_frac);
    snprintf(cap, sizeof cap, "%d", o->max_examples);
    const char *meta[] = {"format", "scipy linkage rows of neuron j are Z[offsets[j]:offsets[j+1]]", "threshold", thr,
                          "act_frac", frac, "max_examples", cap, "embedding", o->pre_mlp ? "pre-mlp" : "neuron"};
    ml_st_tensor t[2] = {{"Z", ML_ST_F64, 2, {offsets[L->n], 4}, Z}, {"offsets", ML_ST_I64, 1, {L->n + 1}, offsets}};
    snprintf(path, sizeof path, "%s/linkage.safetensors", outdir);
    ml_st_write(path, 2, t, 5, meta);
    free(Z);
    free(offsets);
}

/* The default OUTDIR's prefix: every run's checkpoints are named
 * step_NNNNNN.safetensors, so for those the run's folder name (its run id)
 * joins the name: runs/embed_r3f09a1c2b4d5_step_004096. */
static const char *run_prefix(const char *input) {
    static char prefix[300];
    const char *base = strrchr(input, '/');
    snprintf(prefix, sizeof prefix, "embed_");
    if (base && !strncmp(base + 1, "step_", 5)) {
        const char *dir = base;
        while (dir > input && dir[-1] != '/') dir--;
        if (dir < base) snprintf(prefix, sizeof prefix, "embed_%.*s_", (int)(base - dir), dir);
    }
    return prefix;
}

enum { OPT_OUT, OPT_DEVICE, OPT_EMBEDDING, OPT_ACT_FRAC, OPT_MAX_EXAMPLES, OPT_THRESHOLD, OPT_SAMPLES, OPT_SEED,
       OPT_FEATURE_FRAC, OPT_SIMILAR, OPT_PROBE };
static const ml_cli_opt OPTS[] = {
    [OPT_OUT] = {"--out", "-o", 1},        [OPT_DEVICE] = {"--device", NULL, 1},
    [OPT_EMBEDDING] = {"--embedding", NULL, 1}, [OPT_ACT_FRAC] = {"--act-frac", NULL, 1},
    [OPT_MAX_EXAMPLES] = {"--max-examples", NULL, 1}, [OPT_THRESHOLD] = {"--threshold", NULL, 1},
    [OPT_SAMPLES] = {"--samples", NULL, 1}, [OPT_SEED] = {"--seed", NULL, 1},
    [OPT_FEATURE_FRAC] = {"--feature-frac", NULL, 1}, [OPT_SIMILAR] = {"--similar", NULL, 1},
    [OPT_PROBE] = {"--probe", NULL, 1},    {NULL}};

int ml_embed_main(int argc, char **argv) {
    ml_embed_opts o = ml_embed_opts_default();
    const char *input = NULL, *outdir = NULL, *device = "auto";
    ml_cli cl = {"embed", USAGE, OPTS, argc, argv, 0};
    char *v;
    for (int k; (k = ml_cli_next(&cl, &v)) != ML_CLI_END;) {
        const char *flag = k >= 0 ? OPTS[k].name : NULL;
        switch (k) {
        case OPT_OUT: outdir = v; break;
        case OPT_DEVICE: device = v; break;
        case OPT_EMBEDDING:
            if (!strcmp(v, "neuron")) o.pre_mlp = 0;
            else if (!strcmp(v, "pre-mlp")) o.pre_mlp = 1;
            else ml_cli_usage_die("embed", "--embedding must be neuron or pre-mlp, got", v);
            break;
        case OPT_ACT_FRAC: o.act_frac = num_arg(flag, v, 0, 1); break;
        case OPT_MAX_EXAMPLES: o.max_examples = (int)num_arg(flag, v, 1, 4096); break;
        case OPT_THRESHOLD: o.threshold = num_arg(flag, v, 0, 2); break;
        case OPT_SAMPLES: o.samples = (int)num_arg(flag, v, 1, 1e8); break;
        case OPT_SEED: o.seed = (uint64_t)num_arg(flag, v, 0, 1e18); o.seed_set = 1; break;
        case OPT_FEATURE_FRAC: o.feat_frac = num_arg(flag, v, 0, 1); break;
        case OPT_SIMILAR: o.similar = (int)num_arg(flag, v, 0, 1000); break;
        case OPT_PROBE: {
            int p = ml_enum_parse(ML_PROBE_NAMES, v);
            if (p < 0) ml_cli_usage_die("embed", "--probe must be training, single or pair, got", v);
            o.probe = (ml_probe)p;
            break;
        }
        default:
            if (input) ml_cli_usage_die("embed", "one INPUT at a time, got another:", v);
            input = v;
        }
    }
    if (!input) ml_cli_usage_die("embed", "missing INPUT", NULL);
    char defdir[ML_DIR_MAX];
    if (!outdir) {
        ml_default_outdir(defdir, sizeof defdir, run_prefix(input), input);
        outdir = defdir;
    }
    ml_layer L;
    ml_layer_load(&L, input, &o);
    if (outdir == defdir) ml_embed_pin_default(defdir, sizeof defdir, input, &o); /* a fresh suffix, not a refusal */
    ml_outdir_claim(outdir); /* one command per folder: two embeds would mix their files */
    ml_embed_pin_check(outdir, input, &o); /* refuses a folder of another input or settings */
    const ml_backend *be = ml_backend_pick(device); /* after those, so a bad file is the one line on stderr */
    ml_embed_pin_write(outdir, input, &o);
    fprintf(stderr, "[monolab] embed %s (%s embedding) on the %s backend\n", L.desc, o.pre_mlp ? "pre-mlp" : "neuron",
            be->name);
    ml_selection *sel = ml_calloc((size_t)L.n, sizeof *sel);
    ml_neuron_result *res = ml_calloc((size_t)L.n, sizeof *res);
    double t_sel, t_clu;
    be->embed(&L, &o, sel, res, &t_sel, &t_clu);
    long total = 0;
    double intra = 0, inter = 0;
    int ni = 0, no = 0;
    for (int j = 0; j < L.n; j++) {
        total += sel[j].n;
        if (isfinite(res[j].mean_intra)) { intra += res[j].mean_intra; ni++; }
        if (isfinite(res[j].mean_inter)) { inter += res[j].mean_inter; no++; }
    }
    fprintf(stderr, "[monolab] %d neurons, %ld examples: selection %.2f s, embed+cluster %.2f s (file reading excluded)\n",
            L.n, total, t_sel, t_clu);
    printf("mean intra-cluster distance %.3f, mean inter-cluster distance %.3f (over neurons where defined)\n",
           ni ? intra / ni : NAN, no ? inter / no : NAN);
    if (L.true_features) {
        L.input_features = ml_malloc(sizeof(int) * (size_t)L.n);
        ml_input_counts(&L, sel, L.input_features);
    }
    write_outputs(outdir, &L, sel, res, &o);
    if (L.true_features) ml_toy_summary(outdir, &L, sel, res, &o);
    ml_embed_clusters_stage(be, outdir, input, &L, &o, sel, res);
    fprintf(stderr, "[monolab] wrote %s/neurons.csv, examples.csv, linkage.safetensors, clusters.csv, similar.safetensors%s\n", outdir,
            L.true_features ? ", summary.json" : "");
    for (int j = 0; j < L.n; j++) {
        free(sel[j].example); free(sel[j].row); free(sel[j].act);
        free(res[j].labels); free(res[j].Z);
    }
    free(sel);
    free(res);
    ml_layer_free(&L);
    return 0;
}
