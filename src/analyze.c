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

/* What the analysis finds, step by step (ml_analyze_main). */
typedef struct {
    int N, m, k, out, B, act;
    /* classify_neurons */
    ml_mono_stats ms;
    char *kind; /* [k]: 'm' monosemantic, 'd' dead, 'o' other live */
    /* fire_on_samples */
    float *V, *H;   /* [B][N] feature values, [B][k] activations */
    double *active; /* [k] share of the inputs each neuron fires on */
    /* find_always_on */
    int n_other, n_pos, n_on;
    int *on; /* [n_on] the always-on other neurons */
    /* always_on_map, map_rank */
    double *M; /* [out][N] W2[:, on] W1[on, :] P */
    double *sv; /* [ns] its singular values */
    int ns, rank;
    /* output_shares */
    double share_on, share_mono, fit_rel;
} analysis;

static void parse_options(int argc, char **argv, opts *o, char *outbuf, size_t outbuf_size) {
    ml_cli cl = {"analyze", USAGE, OPTS, argc, argv, 0};
    char *v;
    for (int k; (k = ml_cli_next(&cl, &v)) != ML_CLI_END;) {
        if (k == OPT_OUT) o->out = v;
        else if (k == OPT_SAMPLES) o->samples = (int)ml_cli_number("analyze", "--samples", v, 1, 1e8);
        else if (k == OPT_ON_FRAC) o->on_frac = ml_cli_number("analyze", "--on-frac", v, 0, 1);
        else if (!o->ckpt) o->ckpt = v;
        else ml_cli_usage_die("analyze", "one checkpoint at a time, got another:", v);
    }
    if (!o->ckpt) ml_cli_usage_die("analyze", "missing CKPT", NULL);
    if (!(o->on_frac > 0)) ml_cli_usage_die("analyze", "--on-frac must be in (0, 1], got 0", NULL);
    if (!o->out) { /* analysis.json beside the checkpoint */
        const char *slash = strrchr(o->ckpt, '/');
        snprintf(outbuf, outbuf_size, "%.*sanalysis.json", slash ? (int)(slash - o->ckpt + 1) : 0, o->ckpt);
        o->out = outbuf;
    }
}

/* 1. classify neurons by the docs/science.md §1.9 metric */
static void classify_neurons(const ml_checkpoint *c, analysis *a) {
    float *S = ml_malloc(sizeof(float) * (size_t)a->k * a->N);
    ml_checkpoint_sfa(c, S);
    ml_mono_metric(S, c->b1, a->k, a->N, &a->ms);
    a->kind = ml_malloc((size_t)a->k);
    for (int j = 0; j < a->k; j++) {
        int f = ml_neuron_flags(S + (size_t)j * a->N, a->N);
        a->kind[j] = f & ML_MONO ? 'm' : f & ML_DEAD ? 'd' : 'o';
    }
    free(S);
}

/* 2. held-out inputs from the training distribution, the neurons'
 *    activations on them and the share of them each neuron fires on */
static void fire_on_samples(const ml_checkpoint *c, analysis *a) {
    const int B = a->B, k = a->k, m = a->m;
    a->V = ml_malloc(sizeof(float) * (size_t)B * a->N);
    a->H = ml_malloc(sizeof(float) * (size_t)B * k);
    float *X = ml_malloc(sizeof(float) * (size_t)B * m);
    ml_checkpoint_inputs(c, c->run.seed, B, a->V, X);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, k, m, 1.0f, X, m, c->W1, m, 0.0f, a->H, k);
    free(X);
    a->active = ml_calloc((size_t)k, sizeof(double));
    for (int b = 0; b < B; b++)
        for (int j = 0; j < k; j++) {
            float h = ml_act_fwd(a->act, a->H[(size_t)b * k + j] + c->b1[j]);
            a->H[(size_t)b * k + j] = h;
            a->active[j] += h > 0;
        }
    for (int j = 0; j < k; j++) a->active[j] /= B;
}

/* 3. the other (live, not monosemantic) neurons, their bias signs, and
 *    the always-on ones among them */
static void find_always_on(const ml_checkpoint *c, analysis *a, double on_frac) {
    a->on = ml_malloc(sizeof(int) * a->k);
    for (int j = 0; j < a->k; j++)
        if (a->kind[j] == 'o') {
            a->n_other++;
            a->n_pos += c->b1[j] > 0;
            if (a->active[j] >= on_frac) a->on[a->n_on++] = j;
        }
}

/* M = W2[:, on] W1[on, :] P : out x N, formed in double */
static void always_on_map(const ml_checkpoint *c, analysis *a) {
    const int out = a->out, m = a->m, N = a->N, k = a->k;
    double *A = ml_calloc((size_t)out * m, sizeof(double));
    a->M = ml_calloc((size_t)out * N, sizeof(double));
    for (int q = 0; q < a->n_on; q++) {
        int j = a->on[q];
        for (int o2 = 0; o2 < out; o2++)
            for (int c2 = 0; c2 < m; c2++)
                A[(size_t)o2 * m + c2] += (double)c->W2[(size_t)o2 * k + j] * c->W1[(size_t)j * m + c2];
    }
    for (int o2 = 0; o2 < out; o2++)
        for (int c2 = 0; c2 < m; c2++) {
            double v = A[(size_t)o2 * m + c2];
            if (v != 0)
                for (int i = 0; i < N; i++) a->M[(size_t)o2 * N + i] += v * c->P[(size_t)c2 * N + i];
        }
    free(A);
}

/* The map's singular values and its rank: those above rank_tol of the largest. */
static void map_rank(analysis *a, double rank_tol) {
    const int out = a->out, N = a->N;
    a->ns = out < N ? out : N;
    a->sv = ml_calloc((size_t)a->ns, sizeof(double));
    double *Mc = ml_malloc(sizeof(double) * (size_t)out * N); /* dgesdd overwrites its input */
    memcpy(Mc, a->M, sizeof(double) * (size_t)out * N);
    if (LAPACKE_dgesdd(LAPACK_ROW_MAJOR, 'N', out, N, Mc, N, a->sv, NULL, out, NULL, N) != 0)
        ml_fatal("LAPACK SVD of the always-on map failed");
    free(Mc);
    for (int i = 0; i < a->ns; i++) a->rank += a->sv[i] > rank_tol * a->sv[0] && a->sv[0] > 0;
}

/* 4. share of the output: y = W2 h split by neuron kind; how well the
 *    linear map (plus the on-neurons' bias path) reproduces y_on */
static void output_shares(const ml_checkpoint *c, analysis *a) {
    const int out = a->out, N = a->N, k = a->k;
    double y2 = 0, on2 = 0, mono2 = 0, fit_err = 0;
    double *bias_path = ml_calloc((size_t)out, sizeof(double));
    for (int q = 0; q < a->n_on; q++)
        for (int o2 = 0; o2 < out; o2++) bias_path[o2] += (double)c->W2[(size_t)o2 * k + a->on[q]] * c->b1[a->on[q]];
    for (int b = 0; b < a->B; b++) {
        const float *h = a->H + (size_t)b * k, *v = a->V + (size_t)b * N;
        for (int o2 = 0; o2 < out; o2++) {
            double s = 0, s_on = 0, s_m = 0;
            const float *w = c->W2 + (size_t)o2 * k;
            for (int j = 0; j < k; j++) {
                double t = (double)w[j] * h[j];
                s += t;
                if (a->kind[j] == 'm') s_m += t;
            }
            for (int q = 0; q < a->n_on; q++) s_on += (double)w[a->on[q]] * h[a->on[q]];
            double lin = bias_path[o2];
            for (int i = 0; i < N; i++)
                if (v[i] != 0) lin += a->M[(size_t)o2 * N + i] * v[i];
            y2 += s * s;
            on2 += s_on * s_on;
            mono2 += s_m * s_m;
            fit_err += (s_on - lin) * (s_on - lin);
        }
    }
    free(bias_path);
    a->share_on = y2 > 0 ? on2 / y2 : NAN;
    a->share_mono = y2 > 0 ? mono2 / y2 : NAN;
    a->fit_rel = on2 > 0 ? sqrt(fit_err / on2) : NAN;
}

/* The table on stdout: the findings, then the first 20 other neurons. */
static void print_report(const opts *o, const ml_checkpoint *c, const analysis *a) {
    const ml_run *r = &c->run;
    printf("checkpoint   %s\n", o->ckpt);
    printf("model        %s, N=%d m=%d k=%d, %s\n", ml_task_name(r->task), a->N, a->m, a->k, ml_act_name(r->act));
    printf("neurons      %d monosemantic, %d dead, %d other (live, not monosemantic)\n", a->ms.mono_neurons,
           a->ms.dead_neurons, a->n_other);
    printf("other        %d with bias > 0, %d with bias <= 0; %d always on (active on >= %.0f%% of %d inputs)\n",
           a->n_pos, a->n_other - a->n_pos, a->n_on, 100 * o->on_frac, a->B);
    printf("linear map   W2_on W1_on P (%d x %d): rank %d (m = %d); top singular values", a->out, a->N, a->rank, a->m);
    for (int i = 0; i < a->ns && i < 5; i++) printf(" %.4g", a->sv[i]);
    printf("\n");
    printf("output share always-on neurons %.3f, monosemantic neurons %.3f of sum ||y||^2\n", a->share_on,
           a->share_mono);
    printf("map fit      ||y_on - (M v + W2_on b_on)|| / ||y_on|| = %.3g\n", a->fit_rel);
    printf("\n  neuron   bias  active  kind\n");
    int shown = 0;
    for (int j = 0; j < a->k && shown < 20; j++)
        if (a->kind[j] == 'o') {
            printf("  %6d %6.3f %7.3f  %s\n", j, c->b1[j], a->active[j],
                   a->active[j] >= o->on_frac ? "always-on" : "other");
            shown++;
        }
    if (a->n_other > shown) printf("  ... %d more in %s\n", a->n_other - shown, o->out);
}

/* analysis.json: the findings and every other neuron. */
static void write_json(const opts *o, const ml_checkpoint *c, const analysis *a) {
    cJSON *js = cJSON_CreateObject();
    cJSON_AddStringToObject(js, "checkpoint", o->ckpt);
    const struct {
        const char *key;
        double value;
    } numbers[] = {{"N", a->N},
                   {"m", a->m},
                   {"k", a->k},
                   {"samples", a->B},
                   {"on_frac", o->on_frac},
                   {"mono_neurons", a->ms.mono_neurons},
                   {"dead_neurons", a->ms.dead_neurons},
                   {"other_neurons", a->n_other},
                   {"other_positive_bias", a->n_pos},
                   {"always_on", a->n_on},
                   {"map_rank", a->rank},
                   {"share_always_on", a->share_on},
                   {"share_mono", a->share_mono},
                   {"map_fit_rel_error", a->fit_rel}};
    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++)
        cJSON_AddNumberToObject(js, numbers[i].key, numbers[i].value);
    cJSON_AddItemToObject(js, "singular_values", cJSON_CreateDoubleArray(a->sv, a->ns));
    cJSON *arr = cJSON_AddArrayToObject(js, "other");
    for (int j = 0; j < a->k; j++)
        if (a->kind[j] == 'o') {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddNumberToObject(e, "neuron", j);
            cJSON_AddNumberToObject(e, "bias", c->b1[j]);
            cJSON_AddNumberToObject(e, "active_frac", a->active[j]);
            cJSON_AddBoolToObject(e, "always_on", a->active[j] >= o->on_frac);
            cJSON_AddItemToArray(arr, e);
        }
    char *text = cJSON_Print(js);
    ml_atomic_write_text(o->out, text);
    fflush(stdout);
    fprintf(stderr, "[monolab] wrote %s\n", o->out);
    free(text);
    cJSON_Delete(js);
}

static void analysis_free(analysis *a) {
    free(a->kind); free(a->V); free(a->H); free(a->active); free(a->on); free(a->M); free(a->sv);
}

int ml_analyze_main(int argc, char **argv) {
    opts o = {NULL, NULL, 8192, 0.99, 1e-4};
    char outbuf[ML_PATH_MAX];
    parse_options(argc, argv, &o, outbuf, sizeof outbuf);
    ml_checkpoint c;
    ml_checkpoint_load(&c, o.ckpt);
    analysis a = {.N = c.run.N, .m = c.run.m, .k = c.run.k, .out = c.out, .B = o.samples, .act = (int)c.run.act};
    classify_neurons(&c, &a);
    fire_on_samples(&c, &a);
    find_always_on(&c, &a, o.on_frac);
    always_on_map(&c, &a);
    map_rank(&a, o.rank_tol);
    output_shares(&c, &a);
    print_report(&o, &c, &a);
    write_json(&o, &c, &a);
    analysis_free(&a);
    ml_checkpoint_free(&c);
    return 0;
}
