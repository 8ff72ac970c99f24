/* The two ground truths of a toy neuron's polysemanticity and their
 * agreement with the neuron-embedding metric (docs/science.md §3), for
 * `monolab embed` on toy checkpoints: the truths in src/toy_truth.c, the
 * agreement in src/toy_summary.c. */
#ifndef MONOLAB_TOY_TRUTH_H
#define MONOLAB_TOY_TRUTH_H
#include "monolab/embed_layer.h"

/* Weight-based truth: out[j] = #{i : S[j,i] >= frac * max_i S[j,i]}, 0 when
 * that maximum is <= 0. S is [k][N]. */
void ml_feature_counts(const float *S, int k, int N, double frac, int *out);

/* Input-based truth: each selected example of neuron j is attributed to its
 * active feature with the largest contribution v_i * S[j,i] (none when no
 * contribution is positive); out[j] = the number of distinct features
 * attributed. Needs L->toy_V and L->toy_S. */
void ml_input_counts(const ml_layer *L, const ml_selection *sel, int *out);

/* OUTDIR/summary.json: the J22 classes, how many neurons have examples, and
 * over the live neurons with examples the agreement of n_clusters,
 * mean_dist and max_dist with both truths, plus the weight-based truth's
 * sensitivity to feature_frac. Prints a one-line digest. */
void ml_toy_summary(const char *outdir, const ml_layer *L, const ml_selection *sel, const ml_neuron_result *res,
                    const ml_embed_opts *o);

#endif
