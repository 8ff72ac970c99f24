/* Reading what `monolab explore` shows: an embed output folder (CSV and
 * safetensors, checked against each other) and the input it was computed
 * from (activation file with tokens and vocabulary, or toy checkpoint with
 * its sampled features). */
#include "monolab/common.h"
#include "monolab/embed_layer.h"
#include "monolab/embed_pin.h"
#include "monolab/explore.h"
#include "monolab/fsutil.h"
#include "monolab/safetensors.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tensor's bytes copied out, after checking its dtype and leading size. */
static void *st_raw(const ml_st_file *f, const char *name, ml_st_dtype dt, int ndim, int64_t rows) {
    const ml_st_entry *t = ml_st_find(f, name);
    if (!t) ml_die("%s: tensor '%s' is missing", f->path, name);
    if (t->dtype != dt || t->ndim != ndim || (rows >= 0 && t->shape[0] != rows))
        ml_die("%s: tensor '%s' has the wrong dtype or shape (expected %d-D with %lld rows)", f->path, name, ndim,
               (long long)rows);
    void *p = ml_malloc(t->nbytes ? t->nbytes : 1);
    memcpy(p, f->data + t->offset, t->nbytes);
    return p;
}

static ml_csv read_csv(const char *dir, const char *name, const char *const *cols, int *idx, int ncols) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    ml_csv t;
    if (ml_csv_read(&t, path))
        ml_die("%s: missing (is %s a `monolab embed` output folder? clusters.csv and similar.safetensors "
               "need this version of embed)", path, dir);
    for (int c = 0; c < ncols; c++)
        if ((idx[c] = ml_csv_col(&t, cols[c])) < 0) ml_die("%s: column '%s' is missing", path, cols[c]);
    return t;
}

static int64_t num(const ml_csv *t, int r, int c) { return strtoll(t->rows[r][c], NULL, 10); }

void ml_embed_out_load(ml_embed_out *e, const char *dir) {
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "%s", dir);
    int ni[1], xi[5], ci[4];
    const char *ncols[] = {"n_examples"}, *xcols[] = {"neuron", "example", "token", "cluster", "activation"},
               *ccols[] = {"neuron", "size", "mean_intra", "central_example"};
    e->neurons = read_csv(dir, "neurons.csv", ncols, ni, 1);
    int n = e->n = e->neurons.n_rows;
    ml_csv x = read_csv(dir, "examples.csv", xcols, xi, 5);
    e->ex_first = ml_calloc((size_t)n + 1, sizeof(int64_t));
    size_t X = (size_t)x.n_rows + 1;
    e->ex_id = ml_malloc(sizeof(int64_t) * X);
    e->ex_row = ml_malloc(sizeof(int64_t) * X);
    e->ex_cluster = ml_malloc(sizeof(int) * X);
    e->ex_act = ml_malloc(sizeof(float) * X);
    for (int r = 0; r < x.n_rows; r++) {
        int64_t j = num(&x, r, xi[0]);
        if (j < 0 || j >= n || (r && j < num(&x, r - 1, xi[0])))
            ml_die("%s/examples.csv:%d: neuron %lld is out of order or range", dir, r + 2, (long long)j);
        e->ex_first[j + 1]++;
        e->ex_id[r] = num(&x, r, xi[1]);
        e->ex_row[r] = num(&x, r, xi[2]);
        e->ex_cluster[r] = (int)num(&x, r, xi[3]);
        e->ex_act[r] = strtof(x.rows[r][xi[4]], NULL);
    }
    for (int j = 0; j < n; j++) e->ex_first[j + 1] += e->ex_first[j];
    for (int j = 0; j < n; j++)
        if (e->ex_first[j + 1] - e->ex_first[j] != num(&e->neurons, j, ni[0]))
            ml_die("%s/examples.csv: neuron %d has %lld examples, neurons.csv says %lld", dir, j,
                   (long long)(e->ex_first[j + 1] - e->ex_first[j]), (long long)num(&e->neurons, j, ni[0]));
    ml_csv_free(&x);

    ml_csv c = read_csv(dir, "clusters.csv", ccols, ci, 4);
    int64_t C = c.n_rows;
    e->cl_first = ml_calloc((size_t)n + 1, sizeof(int64_t));
    e->cl_central = ml_malloc(sizeof(int) * (size_t)(C + 1));
    e->cl_size = ml_malloc(sizeof(int) * (size_t)(C + 1));
    e->cl_intra = ml_malloc(sizeof(double) * (size_t)(C + 1));
    for (int64_t r = 0; r < C; r++) {
        int64_t j = num(&c, (int)r, ci[0]), cen = num(&c, (int)r, ci[3]);
        if (j < 0 || j >= n || (r && j < num(&c, (int)r - 1, ci[0])))
            ml_die("%s/clusters.csv:%lld: neuron %lld is out of order or range", dir, (long long)r + 2, (long long)j);
        e->cl_first[j + 1]++;
        e->cl_size[r] = (int)num(&c, (int)r, ci[1]);
        e->cl_intra[r] = strtod(c.rows[r][ci[2]], NULL);
        e->cl_central[r] = -1;
        for (int64_t a = e->ex_first[j]; a < e->ex_first[j + 1]; a++)
            if (e->ex_id[a] == cen) { e->cl_central[r] = (int)(a - e->ex_first[j]); break; }
        if (e->cl_central[r] < 0)
            ml_die("%s/clusters.csv:%lld: central example %lld is not among neuron %lld's examples", dir,
                   (long long)r + 2, (long long)cen, (long long)j);
    }
    for (int j = 0; j < n; j++) e->cl_first[j + 1] += e->cl_first[j];
    ml_csv_free(&c);

    char path[ML_PATH_MAX];
    ml_st_file f;
    snprintf(path, sizeof path, "%s/similar.safetensors", dir);
    ml_st_open(&f, path);
    const ml_st_entry *si = ml_st_find(&f, "similar_id");
    e->k = si && si->ndim == 2 ? (int)si->shape[1] : 0;
    e->sim_idx = st_raw(&f, "similar_id", ML_ST_I64, 2, C);
    e->sim = st_raw(&f, "similarity", ML_ST_F32, 2, C);
    ml_st_close(&f);

    ml_embed_settings_read(dir, e->input, sizeof e->input, &e->opts); /* what embed worked on */

    snprintf(path, sizeof path, "%s/linkage.safetensors", dir);
    ml_st_open(&f, path);
    e->z_off = st_raw(&f, "offsets", ML_ST_I64, 1, n + 1);
    e->Z = st_raw(&f, "Z", ML_ST_F64, 2, e->z_off[n]);
    const char *thr = ml_st_meta(&f, "threshold");
    e->threshold = thr ? strtod(thr, NULL) : 0.5;
    ml_st_close(&f);
}

void ml_embed_out_free(ml_embed_out *e) {
    ml_csv_free(&e->neurons);
    free(e->ex_first); free(e->ex_id); free(e->ex_row); free(e->ex_cluster); free(e->ex_act);
    free(e->cl_first); free(e->cl_central); free(e->cl_size); free(e->cl_intra);
    free(e->sim_idx); free(e->sim); free(e->z_off); free(e->Z);
}

/* vocab.json: a JSON array of strings, token id -> text. */
static void load_vocab(ml_explore_src *s, const char *path) {
    size_t len;
    char *text = ml_read_file_max(path, &len, (size_t)256 << 20); /* a vocabulary is a few MB */
    if (!text) ml_die("%s: cannot read the vocabulary: %s", path, strerror(errno));
    cJSON *a = cJSON_Parse(text);
    if (!cJSON_IsArray(a)) ml_die("%s: not a JSON array of token strings", path);
    s->n_vocab = cJSON_GetArraySize(a);
    s->vocab = ml_calloc((size_t)s->n_vocab + 1, sizeof(char *));
    int i = 0;
    for (cJSON *it = a->child; it; it = it->next, i++) {
        if (!cJSON_IsString(it)) ml_die("%s: entry %d is not a string", path, i);
        s->vocab[i] = ml_strdup(it->valuestring);
    }
    cJSON_Delete(a);
    free(text);
}

static void load_tokens(ml_explore_src *s, const char *input, const char *vocab) {
    ml_st_file f;
    ml_st_open(&f, input);
    const ml_st_entry *t = ml_st_find(&f, "token_ids");
    if (t) {
        s->tokens = ml_malloc(sizeof(int64_t) * (size_t)s->L.T);
        if (t->dtype != ML_ST_I64 && t->dtype != ML_ST_I32) ml_die("%s: tensor 'token_ids' must be I64 or I32", input);
        for (int r = 0; r < s->L.T; r++) s->tokens[r] = ml_st_int_at(&f, t, (size_t)r);
    }
    const char *model = ml_st_meta(&f, "model"), *layer = ml_st_meta(&f, "layer"), *vmeta = ml_st_meta(&f, "vocab");
    /* a local model directory is named by its last component, a hub name as it is */
    const char *m = model ? model : "activations", *end = m + strlen(m);
    while (end > m + 1 && end[-1] == '/') end--;
    const char *base = end;
    while (base > m && base[-1] != '/') base--;
    snprintf(s->name, sizeof s->name, "%.*s layer %s", (int)(end - base), base, layer ? layer : "?");
    char path[ML_PATH_MAX2];
    if (!vocab && vmeta && t) { /* the exporter's side file, beside the activation file */
        const char *slash = strrchr(input, '/');
        snprintf(path, sizeof path, "%.*s%s", slash ? (int)(slash - input + 1) : 0, input, vmeta);
        vocab = path;
    }
    if (vocab) load_vocab(s, vocab);
    ml_st_close(&f);
}

/* A mismatched --input is refused naming the file embed really read. */
static void check_same_input(const ml_embed_out *e, const ml_layer *L, const char *input) {
    int64_t bad = -1;
    for (int64_t a = 0; a < e->ex_first[e->n] && bad < 0; a++)
        if (e->ex_row[a] < 0 || e->ex_row[a] >= L->T) bad = a;
    if (L->n == e->n && bad < 0) return;
    if (L->n != e->n)
        ml_die("explore: %s has %d neurons but %s has %d: it was embedded from %s (pass that file with --input)",
               input, L->n, e->dir, e->n, e->input);
    ml_die("explore: %s has %d rows but %s has an example at row %lld: it was embedded from %s (pass that file with "
           "--input)", input, L->T, e->dir, (long long)e->ex_row[bad], e->input);
}

void ml_explore_src_load(ml_explore_src *s, const ml_embed_out *e, const char *input, const char *vocab) {
    memset(s, 0, sizeof *s);
    ml_layer_load(&s->L, input, &e->opts); /* embed's own inputs: the same probe, samples and seed */
    check_same_input(e, &s->L, input);
    if (s->L.toy_V) { /* toy: the features behind each of those inputs */
        s->N = s->L.N;
        s->V = s->L.toy_V;
        s->L.toy_V = NULL;
        snprintf(s->name, sizeof s->name, "toy %s", s->L.run_id);
    } else {
        load_tokens(s, input, vocab);
    }
}

void ml_explore_src_free(ml_explore_src *s) {
    ml_layer_free(&s->L);
    free(s->tokens);
    for (int i = 0; i < s->n_vocab; i++) free(s->vocab[i]);
    free(s->vocab);
    free(s->V);
}
