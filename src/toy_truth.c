/* The two ground truths of docs/science.md §3 for a toy neuron: how many
 * features drive it alone (from the weights), and how many features drive
 * the examples the metric actually clusters (from the inputs). The second
 * exists because the first can disagree with what the metric sees: a
 * neuron may answer a lone feature it never meets alone in the probe
 * inputs, or answer only combinations of features. */
#include "monolab/common.h"
#include "monolab/toy_truth.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

void ml_feature_counts(const float *S, int k, int N, double frac, int *out) {
    for (int j = 0; j < k; j++) {
        const float *s = S + (size_t)j * N;
        float mx = 0;
        for (int i = 0; i < N; i++) mx = fmaxf(mx, s[i]);
        out[j] = 0;
        if (mx > 0)
            for (int i = 0; i < N; i++) out[j] += s[i] >= frac * mx;
    }
}

void ml_input_counts(const ml_layer *L, const ml_selection *sel, int *out) {
    const int N = L->N;
    unsigned char *seen = ml_malloc((size_t)N);
    for (int j = 0; j < L->n; j++) {
        const float *s = L->toy_S + (size_t)j * N;
        memset(seen, 0, (size_t)N);
        out[j] = 0;
        for (int a = 0; a < sel[j].n; a++) {
            const float *v = L->toy_V + (size_t)sel[j].row[a] * N;
            int best = -1;
            float top = 0; /* only a positive contribution attributes */
            for (int i = 0; i < N; i++)
                if (v[i] != 0 && v[i] * s[i] > top) { top = v[i] * s[i]; best = i; }
            if (best >= 0 && !seen[best]) { seen[best] = 1; out[j]++; }
        }
    }
    free(seen);
}
