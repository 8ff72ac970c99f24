#include "monolab/metrics.h"
#include "monolab/common.h"
#include <math.h>
#include <stdlib.h>

double ml_mono_ratio(const float *Srow, int N) {
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < N; i++) {
        if (Srow[i] > mx) mx = Srow[i];
        sum += Srow[i];
    }
    return mx / (ML_MONO_EPS + sum);
}

int ml_neuron_flags(const float *Srow, int N) {
    int dead = 1;
    for (int i = 0; i < N && dead; i++) dead = !(Srow[i] > 0);
    return (ml_mono_ratio(Srow, N) > ML_MONO_THRESHOLD ? ML_MONO : 0) | (dead ? ML_DEAD : 0);
}

void ml_mono_metric(const float *S, const float *b1, int k, int N, ml_mono_stats *o) {
    int mono = 0, dead = 0, poly = 0;
    double bm = 0, bp = 0;
    for (int j = 0; j < k; j++) {
        int f = ml_neuron_flags(S + (long)j * N, N);
        if (f & ML_DEAD) dead++;
        if (f & ML_MONO) {
            mono++;
            bm += b1[j];
        } else if (!(f & ML_DEAD)) {
            poly++;
            bp += b1[j];
        }
    }
    o->mono_neurons = mono;
    o->dead_neurons = dead;
    o->mono_per_feature = (double)mono / N;
    o->mono_per_neuron = (double)mono / k;
    o->bias_mono_mean = mono ? bm / mono : NAN;
    o->bias_poly_mean = poly ? bp / poly : NAN;
}

/* average ranks, ties sharing the mean of their positions */
static void ranks(const double *x, int n, double *r) {
    int *idx = ml_malloc(sizeof(int) * (n ? n : 1));
    for (int i = 0; i < n; i++) idx[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && x[idx[j - 1]] > x[idx[j]]; j--) { int t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t; }
    for (int i = 0; i < n;) {
        int e = i;
        while (e + 1 < n && x[idx[e + 1]] == x[idx[i]]) e++;
        for (int q = i; q <= e; q++) r[idx[q]] = 0.5 * (i + e);
        i = e + 1;
    }
    free(idx);
}

double ml_spearman(const double *x, const double *y, int n) {
    if (n < 2) return NAN;
    double *rx = ml_malloc(sizeof(double) * n), *ry = ml_malloc(sizeof(double) * n);
    ranks(x, n, rx);
    ranks(y, n, ry);
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) { mx += rx[i] / n; my += ry[i] / n; }
    for (int i = 0; i < n; i++) {
        sxy += (rx[i] - mx) * (ry[i] - my);
        sxx += (rx[i] - mx) * (rx[i] - mx);
        syy += (ry[i] - my) * (ry[i] - my);
    }
    free(rx); free(ry);
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : NAN;
}
