/* A row's running list of its k best (similarity, index) pairs, best
 * first, for similar clusters: the CPU scan (src/embed_similar.c) and its
 * CUDA twin (kernels/embed_similar_cuda.cu) push every candidate through
 * this one rule, so the two keep the same lists.
 *
 * The rule: a candidate enters when the list is not full or it is strictly
 * better than the last; it goes after every entry it does not beat, so
 * among equal similarities the one pushed first stays first. A scan that
 * pushes in increasing index therefore keeps ties in increasing index; so
 * does a merge that pushes, in increasing index order of their ranges,
 * lists each built that way (the CUDA twin's segments). */
#ifndef MONOLAB_TOPK_H
#define MONOLAB_TOPK_H
#include "monolab/philox.h" /* ML_HD */
#include <stdint.h>

ML_HD void ml_topk_push(float *ts, int64_t *ti, int *cnt, int k, float s, int64_t j) {
    if (*cnt == k && !(s > ts[k - 1])) return;
    int p = *cnt < k ? (*cnt)++ : k - 1;
    while (p > 0 && s > ts[p - 1]) {
        ts[p] = ts[p - 1];
        ti[p] = ti[p - 1];
        p--;
    }
    ts[p] = s;
    ti[p] = j;
}

#endif
