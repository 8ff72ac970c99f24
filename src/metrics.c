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
