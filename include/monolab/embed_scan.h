/* The selection scan of docs/science.md §2.2 for one neuron and one row, written once
 * for the CPU (src/embed_cpu.c) and the GPU (kernels/embed_cuda.cu).
 * See embed_cpu.c for why phi is evaluated only above `bound`. */
#ifndef MONOLAB_EMBED_SCAN_H
#define MONOLAB_EMBED_SCAN_H
#include "monolab/elementwise.h"
#include <stdint.h>

typedef struct {
    float best;  /* the open example's activation (over candidate tokens) */
    int64_t key; /* its key row */
    int64_t ex;  /* its id, -1 before the first row */
} ml_open_ex;

/* Output slots of one neuron: n used of cap. */
typedef struct {
    int *n;
    int64_t *example, *row;
    float *act;
} ml_sel_slots;

ML_HD void ml_scan_close(const ml_open_ex *e, float thr, int cap, ml_sel_slots s) {
    if (e->ex < 0 || *s.n >= cap || !(e->best >= thr)) return;
    s.example[*s.n] = e->ex;
    s.row[*s.n] = e->key;
    s.act[*s.n] = e->best;
    (*s.n)++;
}

/* Row r (of example ex) with pre-activation zz for one neuron. */
ML_HD void ml_scan_row(ml_open_ex *cur, int64_t ex, int64_t r, float zz, float bound, float thr, int cap, int act,
                       ml_sel_slots s) {
    if (*s.n >= cap) return;
    if (ex != cur->ex) {
        ml_scan_close(cur, thr, cap, s);
        cur->best = -INFINITY;
        cur->key = -1;
        cur->ex = ex;
    }
    if (!(zz >= bound)) return;
    float a = ml_act_any(act, zz);
    if (a > cur->best) {
        cur->best = a;
        cur->key = r;
    }
}

/* Threshold and candidate bound from a neuron's maximum activation. */
ML_HD void ml_scan_limits(float mx, double act_frac, int act, float *thr, float *bound) {
    *thr = mx > 0 ? (float)(act_frac * mx) : INFINITY;
    *bound = act == ACT_SOLU ? 0.0f : *thr; /* SoLU: z e^z can exceed z */
}

#endif
