/* The SAE training loop: per-model example orders, one backend step per
 * batch, a loss log and progress. */
#include "monolab/sae_train.h"
#include "monolab/common.h"
#include "monolab/philox.h"
#include "monolab/progress.h"
#include "monolab/sae_shuffle.h"
#include <stdlib.h>

void ml_sae_train(const ml_sae_backend *be, const ml_sae_group *g, const float *init, const float *data, int n_rows,
                  int epochs, float *out, ml_sae_terms *terms, FILE *log, int log_every, const char *const *ids) {
    const int B = g->B, spe = n_rows / B;
    if (spe < 1) ml_die("sae: %d training rows cannot fill one batch of %d", n_rows, B);
    const long steps = (long)spe * epochs;
    int *perm = ml_malloc(sizeof(int) * (size_t)g->G * n_rows);
    int *rows = ml_malloc(sizeof(int) * (size_t)g->G * B);
    void *st = be->create(g, init);
    ml_progress pr;
    const double flops = 6.0 * 2.0 * B * g->d * g->n; /* per model-step, roughly */
    ml_progress_init(&pr, g->G, 1, flops * g->G * steps);
    ml_progress_group_begin(&pr, g->G, flops * g->G);
    for (long t = 0; t < steps; t++) {
        int e = (int)(t / spe), q = (int)(t % spe);
        if (q == 0)
            for (int gi = 0; gi < g->G; gi++)
                ml_permutation(g->seed[gi], ML_STREAM_SHUFFLE, 1u << 16 | (uint32_t)e, n_rows, perm + (size_t)gi * n_rows);
        for (int gi = 0; gi < g->G; gi++)
            for (int b = 0; b < B; b++) rows[(size_t)gi * B + b] = perm[(size_t)gi * n_rows + (size_t)q * B + b];
        be->step(st, g, data, rows, t);
        if (log && (t % log_every == 0 || t == steps - 1)) {
            be->terms(st, g, terms);
            for (int gi = 0; gi < g->G; gi++)
                fprintf(log, "%s,%ld,%.9g,%.9g,%.9g,%.9g\n", ids[gi], t, terms[gi].mse, terms[gi].l1, terms[gi].ln,
                        terms[gi].loss);
        }
        ml_progress_steps(&pr, t + 1);
    }
    char desc[128];
    snprintf(desc, sizeof desc, "%d SAEs d=%d n=%d B=%d, %ld steps", g->G, g->d, g->n, B, steps);
    ml_progress_group_end(&pr, 1, desc);
    be->terms(st, g, terms);
    be->params(st, g, out);
    be->destroy(st);
    free(perm);
    free(rows);
}
