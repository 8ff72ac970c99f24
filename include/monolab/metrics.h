/* The monosemanticity metric of docs/science.md §1.9, computed on the host from the
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
/* Bit ML_MONO: r_j > 0.999; bit ML_DEAD: S[j,i] <= 0 for every i. Both can
 * hold (a GeLU or SoLU neuron whose responses are all slightly negative):
 * the authors count such a neuron as monosemantic and as dead, and so do we. */
enum { ML_MONO = 1, ML_DEAD = 2 };
int ml_neuron_flags(const float *Srow, int N);
void ml_mono_metric(const float *S, const float *b1, int k, int N, ml_mono_stats *out);

/* Spearman correlation with average ranks for ties (NaN if undefined): the
 * agreement of true feature counts and cluster counts (docs/science.md §3). */
double ml_spearman(const double *x, const double *y, int n);

#endif
