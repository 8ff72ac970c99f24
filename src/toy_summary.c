/* summary.json of `monolab embed` on a toy checkpoint (docs/science.md §3):
 * does the neuron-embedding metric agree with the ground truths?
 *
 * Dead neurons (docs/science.md §1.9: S[j,i] <= 0 for every i) are counted
 * apart and kept out of the agreement statistics: their weight-based truth
 * is 0 by definition, so mixing in the few that fire on combinations of
 * features would score the dead/alive split, not polysemanticity. */
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/metrics.h"
#include "monolab/toy_truth.h"
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Spearman of truth against a per-neuron score over the neurons in `use`
 * whose score is finite (a distance is NaN with fewer than 2 examples). */
static double agree(const int *use, const int *truth, const double *score, int n) {
    double *x = ml_malloc(sizeof(double) * (n ? n : 1)), *y = ml_malloc(sizeof(double) * (n ? n : 1));
    int c = 0;
    for (int j = 0; j < n; j++)
        if (use[j] && isfinite(score[j])) { x[c] = truth[j]; y[c] = score[j]; c++; }
    double rho = ml_spearman(x, y, c);
    free(x);
    free(y);
    return rho;
}

static double exact(const int *use, const int *truth, const ml_neuron_result *res, int n) {
    int c = 0, eq = 0;
    for (int j = 0; j < n; j++)
        if (use[j]) { c++; eq += truth[j] == res[j].n_clusters; }
    return c ? (double)eq / c : NAN;
}

/* cJSON writes NaN as null, which is what a reader should see. */
static void add_truth(cJSON *js, const char *suffix, const int *use, const int *truth, const ml_neuron_result *res,
                      const double *nc, const double *md, const double *xd, int n) {
    char key[64];
    snprintf(key, sizeof key, "spearman%s", suffix);
    cJSON_AddNumberToObject(js, key, agree(use, truth, nc, n));
    snprintf(key, sizeof key, "exact_match%s", suffix);
    cJSON_AddNumberToObject(js, key, exact(use, truth, res, n));
    snprintf(key, sizeof key, "spearman_mean_dist%s", suffix);
    cJSON_AddNumberToObject(js, key, agree(use, truth, md, n));
    snprintf(key, sizeof key, "spearman_max_dist%s", suffix);
    cJSON_AddNumberToObject(js, key, agree(use, truth, xd, n));
}

void ml_toy_summary(const char *outdir, const ml_layer *L, const ml_selection *sel, const ml_neuron_result *res,
                    const ml_embed_opts *o) {
    const int n = L->n, N = L->N;
    int *use = ml_calloc((size_t)n, sizeof(int)), *tf = ml_malloc(sizeof(int) * n);
    double *nc = ml_malloc(sizeof(double) * n), *md = ml_malloc(sizeof(double) * n),
           *xd = ml_malloc(sizeof(double) * n);
    int dead = 0, mono = 0, with_ex = 0, live_ex = 0;
    for (int j = 0; j < n; j++) {
        int fl = ml_neuron_flags(L->toy_S + (size_t)j * N, N);
        int is_dead = (fl & ML_DEAD) != 0;
        dead += is_dead;
        mono += !is_dead && (fl & ML_MONO);
        with_ex += sel[j].n > 0;
        use[j] = !is_dead && sel[j].n > 0;
        live_ex += use[j];
        nc[j] = res[j].n_clusters;
        md[j] = res[j].mean_dist;
        xd[j] = res[j].max_dist;
    }
    cJSON *js = cJSON_CreateObject();
    cJSON_AddStringToObject(js, "probe", ml_probe_name(o->probe));
    cJSON_AddStringToObject(js, "embedding", o->pre_mlp ? "pre-mlp" : "neuron");
    cJSON_AddNumberToObject(js, "threshold", o->threshold);
    cJSON_AddNumberToObject(js, "feature_frac", o->feat_frac);
    cJSON_AddNumberToObject(js, "neurons", n);
    cJSON_AddNumberToObject(js, "dead_neurons", dead);
    cJSON_AddNumberToObject(js, "mono_neurons", mono);
    cJSON_AddNumberToObject(js, "poly_neurons", n - dead - mono);
    cJSON_AddNumberToObject(js, "neurons_with_examples", with_ex);
    cJSON_AddNumberToObject(js, "live_with_examples", live_ex);
    cJSON_AddNumberToObject(js, "dead_with_examples", with_ex - live_ex);
    cJSON_AddNumberToObject(js, "frac_live_with_examples", n > dead ? (double)live_ex / (n - dead) : NAN);
    add_truth(js, "", use, L->true_features, res, nc, md, xd, n);
    add_truth(js, "_input", use, L->input_features, res, nc, md, xd, n);
    /* how much the weight-based truth's agreement hangs on its 0.1 */
    static const double fracs[] = {0.05, 0.1, 0.2, 0.3, 0.5};
    cJSON *sens = cJSON_AddObjectToObject(js, "spearman_by_feature_frac");
    for (size_t f = 0; f < sizeof fracs / sizeof *fracs; f++) {
        char key[16];
        snprintf(key, sizeof key, "%g", fracs[f]);
        ml_feature_counts(L->toy_S, n, N, fracs[f], tf);
        cJSON_AddNumberToObject(sens, key, agree(use, tf, nc, n));
    }
    printf("toy ground truth: %d dead, %d mono, %d poly by the J22 metric; %d live neurons with examples "
           "(%d dead ones too); Spearman(true_features, n_clusters) = %.3f, exact match %.3f; "
           "Spearman(input_features, n_clusters) = %.3f, exact match %.3f\n",
           dead, mono, n - dead - mono, live_ex, with_ex - live_ex, agree(use, L->true_features, nc, n),
           exact(use, L->true_features, res, n), agree(use, L->input_features, nc, n),
           exact(use, L->input_features, res, n));
    char *text = cJSON_Print(js);
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/summary.json", outdir);
    ml_atomic_write_text(path, text);
    free(text);
    cJSON_Delete(js);
    free(use); free(tf); free(nc); free(md); free(xd);
}
