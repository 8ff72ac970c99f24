#include "monolab/hac.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Index of (i, j), i != j, in the condensed upper-triangle vector. */
static inline long cidx(long n, long i, long j) {
    if (i > j) { long t = i; i = j; j = t; }
    return n * i - (i * (i + 1)) / 2 + (j - i - 1);
}

static long uf_find(int *parent, long x) {
    long r = x;
    while (parent[r] != r) r = parent[r];
    while (parent[x] != r) { long nx = parent[x]; parent[x] = (int)r; x = nx; }
    return r;
}

void ml_hac_average(const double *Din, int n, double *Z, double *scratch) {
    if (n < 2) return;
    long m = (long)n * (n - 1) / 2;
    double *D = scratch;
    int *size = (int *)(scratch + m);
    int *chain = size + n;
    for (long i = 0; i < n; i++)
        for (long j = i + 1; j < n; j++) D[cidx(n, i, j)] = Din[i * n + j];
    for (int i = 0; i < n; i++) size[i] = 1;
    int chain_len = 0;
    for (int k = 0; k < n - 1; k++) {
        if (chain_len == 0) {
            for (int i = 0; i < n; i++)
                if (size[i] > 0) { chain[0] = i; break; }
            chain_len = 1;
        }
        int x, y = 0;
        double cur;
        for (;;) {
            x = chain[chain_len - 1];
            /* prefer the previous element of the chain on ties (no cycles) */
            if (chain_len > 1) {
                y = chain[chain_len - 2];
                cur = D[cidx(n, x, y)];
            } else {
                cur = INFINITY;
            }
            for (int i = 0; i < n; i++) {
                if (size[i] == 0 || i == x) continue;
                double d = D[cidx(n, x, i)];
                if (d < cur) { cur = d; y = i; }
            }
            if (chain_len > 1 && y == chain[chain_len - 2]) break;
            chain[chain_len++] = y;
        }
        chain_len -= 2;
        if (x > y) { int t = x; x = y; y = t; }
        int nx = size[x], ny = size[y];
        Z[4 * k + 0] = x;
        Z[4 * k + 1] = y;
        Z[4 * k + 2] = cur;
        Z[4 * k + 3] = nx + ny;
        size[x] = 0;
        size[y] = nx + ny;
        for (int i = 0; i < n; i++) {
            if (size[i] == 0 || i == y) continue;
            D[cidx(n, i, y)] = (nx * D[cidx(n, i, x)] + ny * D[cidx(n, i, y)]) / (nx + ny);
        }
    }
    /* stable sort by distance (numpy's mergesort), by insertion: n <= a few hundred */
    for (int i = 1; i < n - 1; i++) {
        double row[4];
        memcpy(row, Z + 4 * i, sizeof row);
        int j = i;
        while (j > 0 && Z[4 * (j - 1) + 2] > row[2]) {
            memcpy(Z + 4 * j, Z + 4 * (j - 1), sizeof row);
            j--;
        }
        memcpy(Z + 4 * j, row, sizeof row);
    }
    /* relabel: new clusters are n, n+1, ... in merge order */
    int *parent = malloc(sizeof(int) * (size_t)(2 * n - 1));
    int *usize = malloc(sizeof(int) * (size_t)(2 * n - 1));
    for (int i = 0; i < 2 * n - 1; i++) { parent[i] = i; usize[i] = 1; }
    for (int i = 0; i < n - 1; i++) {
        long a = uf_find(parent, (long)Z[4 * i]), b = uf_find(parent, (long)Z[4 * i + 1]);
        Z[4 * i] = (double)(a < b ? a : b);
        Z[4 * i + 1] = (double)(a < b ? b : a);
        int nl = n + i;
        parent[a] = parent[b] = nl;
        usize[nl] = usize[a] + usize[b];
        Z[4 * i + 3] = usize[nl];
    }
    free(parent);
    free(usize);
}

int ml_hac_cut(const double *Z, int n, double threshold, int *labels) {
    if (n <= 0) return 0;
    int *parent = malloc(sizeof(int) * (size_t)(2 * n));
    for (int i = 0; i < 2 * n; i++) parent[i] = i;
    for (int i = 0; i < n - 1 && Z[4 * i + 2] < threshold; i++) {
        long a = uf_find(parent, (long)Z[4 * i]), b = uf_find(parent, (long)Z[4 * i + 1]);
        parent[a] = parent[b] = n + i;
    }
    int *id = malloc(sizeof(int) * (size_t)(2 * n));
    for (int i = 0; i < 2 * n; i++) id[i] = -1;
    int k = 0;
    for (int i = 0; i < n; i++) {
        long r = uf_find(parent, i);
        if (id[r] < 0) id[r] = k++;
        labels[i] = id[r];
    }
    free(parent);
    free(id);
    return k;
}

void ml_poly_metrics_compute(const double *D, int n, const int *labels, int n_clusters, ml_poly_metrics *o) {
    double mx = -INFINITY, sum = 0, si = 0, so = 0;
    long np = 0, ni = 0, no = 0;
    for (int a = 0; a < n; a++)
        for (int b = a + 1; b < n; b++) {
            double d = D[(long)a * n + b];
            mx = d > mx ? d : mx;
            sum += d;
            np++;
            if (labels[a] == labels[b]) { si += d; ni++; }
            else { so += d; no++; }
        }
    o->n_clusters = n_clusters;
    o->max_dist = np ? mx : NAN;
    o->mean_dist = np ? sum / np : NAN;
    o->mean_intra = ni ? si / ni : NAN;
    o->mean_inter = no ? so / no : NAN;
}
