/* `monolab analyze CKPT`: the claim-4 analysis (docs/science.md §1.11). Which live
 * neurons are not monosemantic, what their biases are, how often they fire
 * on training-distribution inputs, and whether the always-on ones act as
 * one low-rank linear map W2_on W1_on P (rank <= m). */
#include "monolab/checkpoint.h"
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/elementwise.h"
#include "monolab/fsutil.h"
#include "monolab/metrics.h"
#include "monolab/model_init.h"
#include <cblas.h>
#include <cjson/cJSON.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *ckpt, *out;
    int samples;
    double on_frac, rank_tol;
} opts;

static const char USAGE[] =
    "usage: monolab analyze CKPT [-o analysis.json] [--samples 8192] [--on-frac 0.99]\n"
    "\n"
    "The claim-4 analysis of one checkpoint of `monolab sweep`: monosemantic and\n"
    "other neurons, the other neurons' bias signs and firing rates on --samples\n"
    "inputs, and the linear map of the always-on ones (active on >= --on-frac of\n"
    "inputs). Prints a table; writes analysis.json beside CKPT (or -o).\n";

enum { OPT_OUT, OPT_SAMPLES, OPT_ON_FRAC };
static const ml_cli_opt OPTS[] = {
    [OPT_OUT] = {"--out", "-o", 1}, [OPT_SAMPLES] = {"--samples", NULL, 1}, [OPT_ON_FRAC] = {"--on-frac", NULL, 1}, {NULL}};

int ml_analyze_main(int argc, char **argv) {
    opts o = {NULL, NULL, 8192, 0.99, 1e-4};
    ml_cli cl = {"analyze", USAGE, OPTS, argc, argv, 0};
    char *v;
    for (int k; (k = ml_cli_next(&cl, &v)) != ML_CLI_END;) {
        if (k == OPT_OUT) o.out = v;
        else if (k == OPT_SAMPLES) o.samples = (int)ml_cli_number("analyze", "--samples", v, 1, 1e8);
        else if (k == OPT_ON_FRAC) o.on_frac = ml_cli_number("analyze", "--on-frac", v, 0, 1);
        else if (!o.ckpt) o.ckpt = v;
        else ml_cli_usage_die("analyze", "one checkpoint at a time, got another:", v);
    }
    if (!o.ckpt) ml_cli_usage_die("analyze", "missing CKPT", NULL);
    if (!(o.on_frac > 0)) ml_cli_usage_die("analyze", "--on-frac must be in (0, 1], got 0", NULL);
    char outbuf[ML_PATH_MAX];
    if (!o.out) {
        const char *slash = strrchr(o.ckpt, '/');
        snprintf(outbuf, sizeof outbuf, "%.*sanalysis.json", slash ? (int)(slash - o.ckpt + 1) : 0, o.ckpt);
        o.out = outbuf;
    }

    ml_checkpoint c;
    ml_checkpoint_load(&c, o.ckpt);
    const ml_run *r = &c.run;
    const int N = r->N, m = r->m, k = r->k, out = c.out, B = o.samples, act = (int)r->act;

    /* 1. classify neurons by the docs/science.md §1.9 metric */
    float *S = ml_malloc(sizeof(float) * (size_t)k * N);
    ml_checkpoint_sfa(&c, S);
    ml_mono_stats ms;
    ml_mono_metric(S, c.b1, k, N, &ms);
    char *kind = ml_malloc((size_t)k); /* 'm' monosemantic, 'd' dead, 'o' other live */
    for (int j = 0; j < k; j++) {
        int f = ml_neuron_flags(S + (size_t)j * N, N);
        kind[j] = f & ML_MONO ? 'm' : f & ML_DEAD ? 'd' : 'o';
    }

    /* 2. held-out inputs from the training distribution */
    float *V = ml_malloc(sizeof(float) * (size_t)B * N), *X = ml_malloc(sizeof(float) * (size_t)B * m);
    float *H = ml_malloc(sizeof(float) * (size_t)B * k);
    ml_checkpoint_inputs(&c, r->seed, B, V, X);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, k, m, 1.0f, X, m, c.W1, m, 0.0f, H, k);
    double *active = ml_calloc((size_t)k, sizeof(double));
    for (int b = 0; b < B; b++)
        for (int j = 0; j < k; j++) {
            float h = ml_act_fwd(act, H[(size_t)b * k + j] + c.b1[j]);
            H[(size_t)b * k + j] = h;
            active[j] += h > 0;
        }
    for (int j = 0; j < k; j++) active[j] /= B;

    /* 3. the always-on other neurons and their linear map */
    int n_other = 0, n_on = 0, n_pos = 0;
    int *on = ml_malloc(sizeof(int) * k);
    for (int j = 0; j < k; j++)
        if (kind[j] == 'o') {
            n_other++;
            n_pos += c.b1[j] > 0;
            if (active[j] >= o.on_frac) on[n_on++] = j;
        }
    /* M = W2[:, on] W1[on, :] P : out x N, formed in double */
    double *A = ml_calloc((size_t)out * m, sizeof(double)), *M = ml_calloc((size_t)out * N, sizeof(double));
    for (int q = 0; q < n_on; q++) {
        int j = on[q];
        for (int o2 = 0; o2 < out; o2++)
            for (int c2 = 0; c2 < m; c2++) A[(size_t)o2 * m + c2] += (double)c.W2[(size_t)o2 * k + j] * c.W1[(size_t)j * m + c2];
    }
    for (int o2 = 0; o2 < out; o2++)
        for (int c2 = 0; c2 < m; c2++) {
            double a = A[(size_t)o2 * m + c2];
            if (a != 0)
                for (int i = 0; i < N; i++) M[(size_t)o2 * N + i] += a * c.P[(size_t)c2 * N + i];
        }
    int ns = out < N ? out : N;
    double *sv = ml_calloc((size_t)ns, sizeof(double));
    double *Mc = ml_malloc(sizeof(double) * (size_t)out * N);
    memcpy(Mc, M, sizeof(double) * (size_t)out * N);
    if (LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', out, N, Mc, N, sv, NULL, out, NULL, N) != 0)
        ml_fatal("LAPACK SVD of the always-on map failed");
    int rank = 0;
    for (int i = 0; i < ns; i++) rank += sv[i] > o.rank_tol * sv[0] && sv[0] > 0;

    /* 4. share of the output: y = W2 h split by neuron kind; how well the
     *    linear map (plus the on-neurons' bias path) reproduces y_on */
    double y2 = 0, on2 = 0, mono2 = 0, fit_err = 0;
    double *bias_path = ml_calloc((size_t)out, sizeof(double));
    for (int q = 0; q < n_on; q++)
        for (int o2 = 0; o2 < out; o2++) bias_path[o2] += (double)c.W2[(size_t)o2 * k + on[q]] * c.b1[on[q]];
    for (int b = 0; b < B; b++) {
        const float *h = H + (size_t)b * k, *v = V + (size_t)b * N;
        for (int o2 = 0; o2 < out; o2++) {
            double s = 0, s_on = 0, s_m = 0;
            const float *w = c.W2 + (size_t)o2 * k;
            for (int j = 0; j < k; j++) {
                double t = (double)w[j] * h[j];
                s += t;
                if (kind[j] == 'm') s_m += t;
            }
            for (int q = 0; q < n_on; q++) s_on += (double)w[on[q]] * h[on[q]];
            double lin = bias_path[o2];
            for (int i = 0; i < N; i++)
                if (v[i] != 0) lin += M[(size_t)o2 * N + i] * v[i];
            y2 += s * s;
            on2 += s_on * s_on;
            mono2 += s_m * s_m;
            fit_err += (s_on - lin) * (s_on - lin);
        }
    }
    double share_on = y2 > 0 ? on2 / y2 : NAN, share_mono = y2 > 0 ? mono2 / y2 : NAN;
    double fit_rel = on2 > 0 ? sqrt(fit_err / on2) : NAN;

    /* report */
    printf("checkpoint   %s\n", o.ckpt);
    printf("model        %s, N=%d m=%d k=%d, %s\n", ml_task_name(r->task), N, m, k, ml_act_name(r->act));
    printf("neurons      %d monosemantic, %d dead, %d other (live, not monosemantic)\n", ms.mono_neurons,
           ms.dead_neurons, n_other);
    printf("other        %d with bias > 0, %d with bias <= 0; %d always on (active on >= %.0f%% of %d inputs)\n", n_pos,
           n_other - n_pos, n_on, 100 * o.on_frac, B);
    printf("linear map   W2_on W1_on P (%d x %d): rank %d (m = %d); top singular values", out, N, rank, m);
    for (int i = 0; i < ns && i < 5; i++) printf(" %.4g", sv[i]);
    printf("\n");
    printf("output share always-on neurons %.3f, monosemantic neurons %.3f of sum ||y||^2\n", share_on, share_mono);
    printf("map fit      ||y_on - (M v + W2_on b_on)|| / ||y_on|| = %.3g\n", fit_rel);
    printf("\n  neuron   bias  active  kind\n");
    int shown = 0;
    for (int j = 0; j < k && shown < 20; j++)
        if (kind[j] == 'o') {
            printf("  %6d %6.3f %7.3f  %s\n", j, c.b1[j], active[j], active[j] >= o.on_frac ? "always-on" : "other");
            shown++;
        }
    if (n_other > shown) printf("  ... %d more in %s\n", n_other - shown, o.out);

    cJSON *js = cJSON_CreateObject();
    cJSON_AddStringToObject(js, "checkpoint", o.ckpt);
    cJSON_AddNumberToObject(js, "N", N);
    cJSON_AddNumberToObject(js, "m", m);
    cJSON_AddNumberToObject(js, "k", k);
    cJSON_AddNumberToObject(js, "samples", B);
    cJSON_AddNumberToObject(js, "on_frac", o.on_frac);
    cJSON_AddNumberToObject(js, "mono_neurons", ms.mono_neurons);
    cJSON_AddNumberToObject(js, "dead_neurons", ms.dead_neurons);
    cJSON_AddNumberToObject(js, "other_neurons", n_other);
    cJSON_AddNumberToObject(js, "other_positive_bias", n_pos);
    cJSON_AddNumberToObject(js, "always_on", n_on);
    cJSON_AddNumberToObject(js, "map_rank", rank);
    cJSON_AddNumberToObject(js, "share_always_on", share_on);
    cJSON_AddNumberToObject(js, "share_mono", share_mono);
    cJSON_AddNumberToObject(js, "map_fit_rel_error", fit_rel);
    cJSON_AddItemToObject(js, "singular_values", cJSON_CreateDoubleArray(sv, ns));
    cJSON *arr = cJSON_AddArrayToObject(js, "other");
    for (int j = 0; j < k; j++)
        if (kind[j] == 'o') {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "neuron", j);
            cJSON_AddNumberToObject(e, "bias", c.b1[j]);
            cJSON_AddNumberToObject(e, "active_frac", active[j]);
            cJSON_AddBoolToObject(e, "always_on", active[j] >= o.on_frac);
            cJSON_AddItemToArray(arr, e);
        }
    char *text = cJSON_Print(js);
    ml_atomic_write_text(o.out, text);
    fflush(stdout);
    fprintf(stderr, "[monolab] wrote %s\n", o.out);
    free(text);
    cJSON_Delete(js);
    free(S); free(kind); free(V); free(X); free(H); free(active); free(on);
    free(A); free(M); free(sv); free(Mc); free(bias_path);
    ml_checkpoint_free(&c);
    return 0;
}
