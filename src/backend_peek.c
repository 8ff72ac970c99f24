/* The buffers a backend's peek() exposes to the tests that compare the twins
 * op by op, named once for both backends. */
#include "monolab/backend.h"
#include "monolab/common.h"
#include <string.h>

int ml_peek_buffer(const ml_group *g, const char *name, size_t *count) {
    static const char *const NAMES[ML_N_BUFS] = {"X", "T", "Y", "PRE", "H", "dH", "grads", "m1", "m2"};
    const size_t G = (size_t)g->G, B = (size_t)g->B;
    const size_t n[ML_N_BUFS] = {G * B * g->m, G * B * g->out, G * B * g->out, G * B * g->k, G * B * g->k,
                                 G * B * g->k, G * g->n_param, G * g->n_param, G * g->n_param};
    for (int i = 0; i < ML_N_BUFS; i++)
        if (!strcmp(NAMES[i], name)) {
            *count = n[i];
            return i;
        }
    ml_fatal("peek: no buffer '%s'", name);
}
