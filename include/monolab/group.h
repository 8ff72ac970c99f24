/* A group: G models with equal shapes that train together
 * (docs/architecture.md "Groups"). The host side owns everything drawn
 * from the seeds (initial parameters, embedders, feature probabilities); a
 * backend copies what it needs in create(). Parameter layout per model:
 * [W1 k*m | b1 k | W2 out*k]. */
#ifndef MONOLAB_GROUP_H
#define MONOLAB_GROUP_H
#include "monolab/config.h"
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int G;
    ml_run shape;        /* the group-wide fields (copied from the first run) */
    int N, m, k, out, B;
    size_t n_param;      /* per model */
    size_t off_W1, off_b1, off_W2;
    const ml_run **runs; /* G runs, borrowed from the sweep config */
    /* per-model values, length G */
    uint64_t *seed;
    float *lr, *decay, *l1;
    float *feat_p;       /* [G][N] probability that feature i is active */
    float *Pt;           /* [G][N][m]: row i is column i of P */
    float *Qt;           /* [G][N][m]: reprojector target embedder, else NULL */
    float *init_params;  /* [G][n_param] */
} ml_group;

/* Build a group from runs that share every (group) field of ml_run. */
ml_group *ml_group_create(const ml_run *const *runs, int G);
void ml_group_free(ml_group *g);

/* True when two runs may share a group. */
int ml_runs_groupable(const ml_run *a, const ml_run *b);

/* Bytes of working memory one model of this shape needs in a backend. */
size_t ml_group_bytes_per_model(const ml_run *r);

#endif
