#include "monolab/metrics.h"
#include <math.h>

double ml_mono_ratio(const float *Srow, int N) {
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < N; i++) {
        if (Srow[i] > mx) mx = Srow[i];
        sum += Srow[i];
    }
    return mx / (ML_MONO_EPS + sum);
}

void ml_mono_metric(const float *S, const float *b1, int k, int N, ml_mono_stats *o) {
    int mono = 0, dead = 0, poly = 0;
    double bm = 0, bp = 0;
    for (int j = 0; j < k; j++) {
        const float *row = S + (long)j * N;
        int is_dead = 1;
        for (int i = 0; i < N; i++)
            if (row[i] > 0) { is_dead = 0; break; }
        int is_mono = ml_mono_ratio(row, N) > ML_MONO_THRESHOLD;
        if (is_dead) dead++;
        if (is_mono) {
            mono++;
            bm += b1[j];
        } else if (!is_dead) {
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
