/* The monosemanticity metric of SPEC §1.9, computed on the host from the
 * single-feature activations S [k][N] that a backend's sfa() returns. */
#ifndef MONOLAB_METRICS_H
#define MONOLAB_METRICS_H

#define ML_MONO_THRESHOLD 0.999
#define ML_MONO_EPS 1e-10

typedef struct {
    int mono_neurons, dead_neurons;
    double mono_per_feature, mono_per_neuron;
    double bias_mono_mean; /* NaN when there are no monosemantic neurons */
    double bias_poly_mean; /* over live, non-monosemantic neurons; NaN if none */
} ml_mono_stats;

/* r_j = max_i S[j,i] / (1e-10 + sum_i S[j,i]) for each neuron j. */
double ml_mono_ratio(const float *Srow, int N);
void ml_mono_metric(const float *S, const float *b1, int k, int N, ml_mono_stats *out);

#endif
