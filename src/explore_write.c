/* The explorer's data files under data/L<layer>/: index.js (the neuron
 * table, with each neuron's top key tokens), vocab.js (token id -> text),
 * b/<block>.js (ML_EXPLORE_BLOCK neurons each: clusters, their key tokens,
 * shown examples as token ids and activations in percent of the neuron's
 * maximum, merge tree, similar clusters with a preview) and k/<shard>.js
 * (token search: which neurons and clusters have a token as key token).
 * Blocks and shards are gzip-compressed JSON (explore_pack.c), so a
 * 36,864-neuron layer is hundreds of files, not one per neuron. Each file is
 * a call ML.index(...) / ML.block(...) / ..., so a <script> tag can load it
 * from file://. JSON is written by hand into a growing buffer: cJSON trees
 * for ~10^8 numbers would cost more than the rest of the command. */
#include "monolab/common.h"
#include "monolab/elementwise.h"
#include "monolab/embed_layer.h"
#include "monolab/explore.h"
#include "monolab/fsutil.h"
#include "monolab/strbuf.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* JSON has no NaN: undefined metrics become null. */
static void sb_num(ml_sbuf *b, double x) {
    if (isfinite(x)) ml_sb_printf(b, "%.4g", x);
    else ml_sb_put(b, "null", 4);
}

static void sb_str(ml_sbuf *b, const char *s) {
    ml_sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { ml_sb_put(b, "\\", 1); ml_sb_put(b, s, 1); }
        else if (c == '\n') ml_sb_put(b, "\\n", 2);
        else if (c < 0x20) ml_sb_printf(b, "\\u%04x", c);
        else ml_sb_put(b, s, 1);
    }
    ml_sb_put(b, "\"", 1);
}

/* Into a fresh build folder (dir_swap.h): O_EXCL, so nothing planted there
 * is written through. */
static void write_file(const char *path, const ml_sbuf *b) {
    FILE *f = ml_create_new(path);
    if (!f || fwrite(b->p, 1, b->n, f) != b->n || fclose(f)) ml_fatal("cannot write '%s'", path);
}

/* Token window of one example: rows [lo, hi] around the key row, inside its context. */
static void token_window(const ml_layer *L, int64_t key, int64_t *lo, int64_t *hi) {
    *lo = *hi = key;
    if (!L->doc) return; /* rows are separate examples: only the key row is text of this example */
    while (*lo > 0 && key - *lo < ML_EXPLORE_BEFORE && L->doc[*lo - 1] == L->doc[key]) (*lo)--;
    while (*hi + 1 < L->T && *hi - key < ML_EXPLORE_AFTER && L->doc[*hi + 1] == L->doc[key]) (*hi)++;
}

/* Dot product in 8 fixed lanes (vectorises without -ffast-math). OpenBLAS's
 * sdot costs far more per call than its 768 multiply-adds at this size. */
static float dot(const float *x, const float *y, int n) {
    float acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += x[i + l] * y[i + l];
    float s = 0;
    for (; i < n; i++) s += x[i] * y[i];
    for (int l = 0; l < 8; l++) s += acc[l];
    return s;
}

/* An activation in percent of the neuron's maximum: two digits are what a
 * colour and a tooltip can show, and they compress far better than floats. */
static void sb_pct(ml_sbuf *b, float act, float max) {
    ml_sb_printf(b, "%d", max > 0 && isfinite(act) ? (int)lrintf(100.0f * act / max) : 0);
}

static void example_json(ml_sbuf *b, const ml_embed_out *e, const ml_explore_src *s, const float *wj, float max, int j,
                         int64_t a) {
    const ml_layer *L = &s->L;
    ml_sb_printf(b, "{\"id\":%lld,\"row\":%lld,\"act\":", (long long)e->ex_id[a], (long long)e->ex_row[a]);
    sb_num(b, e->ex_act[a]);
    if (s->V) { /* toy: the active features and their values */
        ml_sb_put(b, ",\"f\":[", 6);
        const float *v = s->V + (size_t)e->ex_row[a] * s->N;
        for (int i = 0, first = 1; i < s->N; i++)
            if (v[i] != 0) {
                ml_sb_printf(b, "%s[%d,", first ? "" : ",", i);
                sb_num(b, v[i]);
                ml_sb_put(b, "]", 1);
                first = 0;
            }
        ml_sb_put(b, "]}", 2);
        return;
    }
    int64_t lo, hi;
    token_window(L, e->ex_row[a], &lo, &hi);
    ml_sb_printf(b, ",\"key\":%lld,\"lo\":%lld,\"t\":[", (long long)(e->ex_row[a] - lo), (long long)lo);
    for (int64_t r = lo; s->tokens && r <= hi; r++) ml_sb_printf(b, "%s%lld", r > lo ? "," : "", (long long)s->tokens[r]);
    ml_sb_put(b, "],\"a\":[", 7);
    for (int64_t r = lo; r <= hi; r++) {
        /* the key row's activation is known (examples.csv); the others are computed */
        float act = r == e->ex_row[a] ? e->ex_act[a] : ml_act_any(L->act, dot(L->pre + (size_t)r * L->d, wj, L->d) + L->b[j]);
        if (r > lo) ml_sb_put(b, ",", 1);
        sb_pct(b, act, max);
    }
    ml_sb_put(b, "]}", 2);
}

/* Examples shown for a cluster: the central one first, then the others by
 * activation (largest first), at most ML_EXPLORE_SHOWN. */
static int shown_examples(const ml_embed_out *e, int j, int c, int central, int *out) {
    const int64_t f = e->ex_first[j], n = e->ex_first[j + 1] - f;
    const float *act = e->ex_act + f;
    int *rest = out + 1, k = 0, cap = ML_EXPLORE_SHOWN - 1;
    out[0] = central;
    for (int a = 0; a < n; a++) {
        if (e->ex_cluster[f + a] != c || a == central) continue;
        int p;
        if (k < cap) p = k++;
        else if (act[a] > act[rest[cap - 1]]) p = cap - 1;
        else continue;
        while (p > 0 && act[a] > act[rest[p - 1]]) { rest[p] = rest[p - 1]; p--; } /* ties keep dataset order */
        rest[p] = a;
    }
    return k + 1;
}

/* [[token id, examples], ...]: cluster c's most frequent key tokens. */
static void keys_json(ml_sbuf *b, const ml_embed_out *e, const ml_explore_src *s, int j, int c, int k) {
    int64_t ids[ML_EXPLORE_KEYS];
    int cnt[ML_EXPLORE_KEYS], m = ml_explore_top_keys(e, s, j, c, k, ids, cnt);
    ml_sb_put(b, "[", 1);
    for (int i = 0; i < m; i++) ml_sb_printf(b, "%s[%lld,%d]", i ? "," : "", (long long)ids[i], cnt[i]);
    ml_sb_put(b, "]", 1);
}

/* The neuron owning cluster id o: binary search over cl_first. */
static int cluster_owner(const ml_embed_out *e, int64_t o) {
    int lo = 0, hi = e->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (e->cl_first[mid + 1] <= o) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Cluster q's similar clusters of other neurons, those of positive cosine
 * similarity only (at or below zero they are not similar), each
 * [neuron, cluster, similarity, key position, [token ids]]: the preview is
 * its central example's key token and a few tokens around it. */
static void similar_json(ml_sbuf *b, const ml_embed_out *e, const ml_explore_src *s, int64_t q) {
    ml_sb_put(b, "[", 1);
    for (int i = 0, first = 1; i < e->k; i++) {
        int64_t o = e->sim_idx[q * e->k + i];
        float x = e->sim[q * e->k + i];
        if (o < 0 || !(x > 0)) continue;
        int on = cluster_owner(e, o);
        int64_t row = e->ex_row[e->ex_first[on] + e->cl_central[o]], lo = row, hi = row;
        if (s->tokens && s->L.doc) {
            while (lo > 0 && row - lo < ML_EXPLORE_PREVIEW && s->L.doc[lo - 1] == s->L.doc[row]) lo--;
            while (hi + 1 < s->L.T && hi - row < 2 && s->L.doc[hi + 1] == s->L.doc[row]) hi++;
        }
        ml_sb_printf(b, "%s[%d,%lld,", first ? "" : ",", on, (long long)(o - e->cl_first[on]));
        sb_num(b, x);
        ml_sb_printf(b, ",%lld,[", (long long)(row - lo));
        for (int64_t r = lo; s->tokens && r <= hi; r++) ml_sb_printf(b, "%s%lld", r > lo ? "," : "", (long long)s->tokens[r]);
        ml_sb_put(b, "]]", 2);
        first = 0;
    }
    ml_sb_put(b, "]", 1);
}

static void neuron_json(ml_sbuf *b, const ml_embed_out *e, const ml_explore_src *s, const float *Wt, float max, int j) {
    const ml_csv *t = &e->neurons;
    ml_sb_printf(b, "{\"n\":%d,\"max\":", j);
    sb_num(b, max);
    ml_sb_put(b, ",\"stats\":{", 10);
    for (int c = 0; c < t->n_cols; c++) {
        ml_sb_printf(b, "%s", c ? "," : "");
        sb_str(b, t->cols[c]);
        ml_sb_put(b, ":", 1);
        sb_num(b, strtod(t->rows[j][c], NULL));
    }
    int64_t f = e->ex_first[j], n = e->ex_first[j + 1] - f;
    ml_sb_put(b, "},\"labels\":[", 12);
    for (int64_t a = 0; a < n; a++) ml_sb_printf(b, "%s%d", a ? "," : "", e->ex_cluster[f + a]);
    ml_sb_put(b, "],\"acts\":[", 10); /* every selected example's activation, for the histogram */
    for (int64_t a = 0; a < n; a++) {
        if (a) ml_sb_put(b, ",", 1);
        sb_pct(b, e->ex_act[f + a], max);
    }
    ml_sb_put(b, "],\"Z\":[", 7);
    for (int64_t r = e->z_off[j]; r < e->z_off[j + 1]; r++) {
        const double *z = e->Z + 4 * r;
        ml_sb_printf(b, "%s[%d,%d,", r > e->z_off[j] ? "," : "", (int)z[0], (int)z[1]);
        sb_num(b, z[2]);
        ml_sb_printf(b, ",%d]", (int)z[3]);
    }
    ml_sb_put(b, "],\"clusters\":[", 14);
    int shown[ML_EXPLORE_SHOWN];
    for (int64_t q = e->cl_first[j]; q < e->cl_first[j + 1]; q++) {
        int c = (int)(q - e->cl_first[j]);
        ml_sb_printf(b, "%s{\"size\":%d,\"intra\":", c ? "," : "", e->cl_size[q]);
        sb_num(b, e->cl_intra[q]);
        ml_sb_put(b, ",\"keys\":", 8);
        keys_json(b, e, s, j, c, ML_EXPLORE_KEYS);
        ml_sb_put(b, ",\"similar\":", 11);
        similar_json(b, e, s, q);
        ml_sb_put(b, ",\"ex\":[", 7);
        int k = shown_examples(e, j, c, e->cl_central[q], shown);
        for (int i = 0; i < k; i++) {
            if (i) ml_sb_put(b, ",", 1);
            example_json(b, e, s, Wt + (size_t)j * s->L.d, max, j, f + shown[i]);
        }
        ml_sb_put(b, "]}", 2);
    }
    ml_sb_put(b, "]}", 2);
}

/* A neuron's row in the table: the top key token of each of its largest
 * clusters, [[token id, examples, cluster], ...], so that a polysemantic
 * neuron's row shows its different behaviours, not only its biggest one. */
static void row_keys_json(ml_sbuf *b, const ml_embed_out *e, const ml_explore_src *s, int j) {
    int nc = (int)(e->cl_first[j + 1] - e->cl_first[j]), pick[ML_EXPLORE_ROW_CLUSTERS], np = 0;
    const int *size = e->cl_size + e->cl_first[j];
    for (int c = 0; c < nc; c++) { /* insertion into the largest few; ties: lower cluster first */
        int p = np < ML_EXPLORE_ROW_CLUSTERS ? np++ : ML_EXPLORE_ROW_CLUSTERS;
        while (p > 0 && size[c] > size[pick[p - 1]]) {
            if (p < ML_EXPLORE_ROW_CLUSTERS) pick[p] = pick[p - 1];
            p--;
        }
        if (p < ML_EXPLORE_ROW_CLUSTERS) pick[p] = c;
    }
    ml_sb_put(b, "[", 1);
    for (int i = 0; i < np; i++) {
        int64_t id;
        int cnt;
        if (ml_explore_top_keys(e, s, j, pick[i], 1, &id, &cnt))
            ml_sb_printf(b, "%s[%lld,%d,%d]", i ? "," : "", (long long)id, cnt, pick[i]);
    }
    ml_sb_put(b, "]", 1);
}

static void index_json(ml_sbuf *b, int layer, const ml_embed_out *e, const ml_explore_src *s) {
    const ml_csv *t = &e->neurons;
    ml_sb_printf(b, "ML.index({\"layer\":%d,\"name\":", layer);
    sb_str(b, s->name);
    const char *shape = strchr(s->L.desc, ':'); /* the desc's shapes, after its (long) model name */
    ml_sb_put(b, ",\"desc\":", 8);
    sb_str(b, shape ? shape + 2 : s->L.desc);
    ml_sb_printf(b, ",\"toy\":%s,\"tokens\":%s,\"vocab\":%s,\"block\":%d,\"shards\":%d,\"threshold\":",
                 s->V ? "true" : "false", s->tokens ? "true" : "false", s->vocab ? "true" : "false", ML_EXPLORE_BLOCK,
                 ML_EXPLORE_SHARDS);
    sb_num(b, e->threshold);
    ml_sb_put(b, ",\"cols\":[", 9);
    for (int c = 0; c < t->n_cols; c++) {
        if (c) ml_sb_put(b, ",", 1);
        sb_str(b, t->cols[c]);
    }
    ml_sb_put(b, "],\"rows\":[", 10);
    for (int r = 0; r < t->n_rows; r++) {
        ml_sb_put(b, r ? ",[" : "[", r ? 2 : 1);
        for (int c = 0; c < t->n_cols; c++) {
            if (c) ml_sb_put(b, ",", 1);
            sb_num(b, strtod(t->rows[r][c], NULL));
        }
        ml_sb_put(b, "]", 1);
    }
    ml_sb_put(b, "],\"keys\":[", 10);
    for (int r = 0; r < t->n_rows && s->tokens; r++) {
        if (r) ml_sb_put(b, ",", 1);
        row_keys_json(b, e, s, r);
    }
    ml_sb_put(b, "]});\n", 5);
}

static void write_vocab(const char *path, int layer, const ml_explore_src *s) {
    ml_sbuf b = {0};
    ml_sb_printf(&b, "ML.vocab(%d,[", layer);
    for (int i = 0; i < s->n_vocab; i++) {
        if (i) ml_sb_put(&b, ",", 1);
        sb_str(&b, s->vocab[i]);
    }
    ml_sb_put(&b, "]);\n", 4);
    write_file(path, &b);
    free(b.p);
}

/* k/<shard>.js: {token id: [[neuron, cluster, examples], ...]} for the
 * tokens with id % ML_EXPLORE_SHARDS == shard, most examples first. */
static void write_search(const char *dir, int layer, const ml_embed_out *e, const ml_explore_src *s) {
    int64_t n;
    ml_explore_key *keys = ml_explore_key_list(e, s, &n);
    ml_sbuf json = {0}, out = {0};
    char path[ML_PATH_MAX2], prefix[64];
    for (int shard = 0; shard < ML_EXPLORE_SHARDS; shard++) {
        int any = 0;
        json.n = 0;
        ml_sb_put(&json, "{", 1);
        for (int64_t i = 0; i < n; i++) { /* a token's entries are consecutive (sorted by token) */
            if (keys[i].token % ML_EXPLORE_SHARDS != shard) continue;
            int head = i == 0 || keys[i - 1].token != keys[i].token;
            if (head) ml_sb_printf(&json, "%s\"%lld\":[", any ? "]," : "", (long long)keys[i].token);
            ml_sb_printf(&json, "%s[%d,%d,%d]", head ? "" : ",", keys[i].neuron, keys[i].cluster, keys[i].count);
            any = 1;
        }
        ml_sb_put(&json, any ? "]}" : "}", any ? 2 : 1);
        snprintf(prefix, sizeof prefix, "ML.keys(%d,%d,", layer, shard);
        ml_explore_pack(&out, prefix, json.p, json.n);
        snprintf(path, sizeof path, "%s/%d.js", dir, shard);
        write_file(path, &out);
    }
    free(json.p);
    free(out.p);
    free(keys);
}

void ml_explore_write_layer(const char *site, int layer, const ml_embed_out *e, const ml_explore_src *s) {
    char dir[ML_PATH_MAX], path[ML_PATH_MAX2];
    ml_sbuf b = {0};
    index_json(&b, layer, e, s);
    snprintf(dir, sizeof dir, "%s/data/L%d", site, layer);
    ml_mkdirs(dir);
    snprintf(path, sizeof path, "%s/index.js", dir);
    write_file(path, &b);
    free(b.p);
    if (s->vocab) {
        snprintf(path, sizeof path, "%s/vocab.js", dir);
        write_vocab(path, layer, s);
    }
    if (s->tokens) {
        snprintf(dir, sizeof dir, "%s/data/L%d/k", site, layer);
        ml_mkdirs(dir);
        write_search(dir, layer, e, s);
    }
    snprintf(dir, sizeof dir, "%s/data/L%d/b", site, layer);
    ml_mkdirs(dir);
    float *Wt = ml_layer_w_columns(&s->L); /* w_j is read once per token shown */
    float *max = ml_explore_neuron_max(&s->L);
    int blocks = (e->n + ML_EXPLORE_BLOCK - 1) / ML_EXPLORE_BLOCK;
#pragma omp parallel
    {
        ml_sbuf json = {0}, out = {0};
        char p[ML_PATH_MAX2], prefix[64];
#pragma omp for schedule(dynamic, 1)
        for (int k = 0; k < blocks; k++) {
            json.n = 0;
            ml_sb_put(&json, "[", 1);
            for (int j = k * ML_EXPLORE_BLOCK; j < e->n && j < (k + 1) * ML_EXPLORE_BLOCK; j++) {
                if (j > k * ML_EXPLORE_BLOCK) ml_sb_put(&json, ",", 1);
                neuron_json(&json, e, s, Wt, max[j], j);
            }
            ml_sb_put(&json, "]", 1);
            snprintf(prefix, sizeof prefix, "ML.block(%d,%d,", layer, k);
            ml_explore_pack(&out, prefix, json.p, json.n);
            snprintf(p, sizeof p, "%s/%d.js", dir, k);
            write_file(p, &out);
        }
        free(json.p);
        free(out.p);
    }
    free(max);
    free(Wt);
}
