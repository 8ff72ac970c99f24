/* The selection scan of docs/science.md §2.2 for one neuron and one row, written once
 * for the CPU (src/embed_cpu.c) and the GPU (kernels/embed_cuda.cu).
 *
 * Why "canonical" pre-activations. Each backend computes z = pre W + b for
 * every row with its own single-precision GEMM, and two GEMM libraries (or
 * one with another blocking or thread count) round differently, so a row
 * near a decision (is it the maximum, does it reach the threshold, is it
 * its context's argmax) could be decided differently by the two. So the
 * float z only screens: every decision is made on the canonical z of
 * ml_canon_z, computed in double in one fixed order by the same code on
 * every backend, for the rows the screen cannot rule out. The screen is
 * safe because the float z of any summation order lies within
 * ml_gemm_margin of the canonical one. Selections then depend on the data
 * only, not on the BLAS, its blocking or the number of threads (up to the
 * last double bit of the two libms' erf, exp and tanh, which can move a
 * rounded activation in about 2^-28 of cases; elementwise.h); activations
 * are phi of the canonical z, evaluated in double and rounded once. See embed_cpu.c for why phi is evaluated
 * only above `bound`. */
#ifndef MONOLAB_EMBED_SCAN_H
#define MONOLAB_EMBED_SCAN_H
#include "monolab/elementwise.h"
#include "monolab/embed_layer.h"
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

/* What the scan needs of one neuron: its threshold, the screen's bound on
 * the float z, its weight column (contiguous, d floats) and bias. */
typedef struct {
    float thr, bound;
    const float *w;
    float b;
} ml_scan_neuron;

/* z of one row for one neuron: the float products are exact in double,
 * summed in 8 lanes (lane l takes c = l, l + 8, ...; the lanes vectorise
 * without reassociation), the lanes in order, then the tail, bias last. A
 * fixed order, so the same bits on every backend (no contraction into fused
 * multiply-adds on either side). */
ML_HD double ml_canon_z(const float *p, const float *w, int d, float b) {
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int c = 0;
    for (; c + 8 <= d; c += 8)
        for (int l = 0; l < 8; l++) acc[l] += (double)p[c + l] * (double)w[c + l];
    double z = 0;
    for (int l = 0; l < 8; l++) z += acc[l];
    for (; c < d; c++) z += (double)p[c] * (double)w[c];
    return z + (double)b;
}

/* A bound on |float z - canonical z| for every row of a neuron, twice over:
 * a float dot product of length d in any order (split-K, trees, fused
 * multiply-adds included) is within d u sum|p_c w_c| <= d u |p| |w| of the
 * exact one (u = 2^-24; Cauchy-Schwarz with the largest row norm pmax),
 * the bias add adds u |z|, the canonical sum is within d 2^-53
 * sum|p_c w_c|; the last term covers products and sums that underflow
 * (or are flushed to zero), at most 2^-126 each. */
ML_HD float ml_gemm_margin(int d, double pmax, double wnorm, float b) {
    return (float)(2.0 * (d + 2) * (0x1p-24 * (pmax * wnorm + fabs((double)b)) + 0x1p-126));
}

/* Pass 1, one row: the float maximum of z so far, and the canonical
 * maximum over the rows that came within two margins of it. A row that
 * did not is more than a margin below the row holding the final float
 * maximum in canonical terms, so *mxc ends as the canonical maximum. */
ML_HD void ml_max_row(float *mx32, double *mxc, float z32, float margin, const float *p, const float *w, int d,
                      float b) {
    if (!(z32 >= *mx32 - 2 * margin)) return;
    double zc = ml_canon_z(p, w, d, b);
    if (zc > *mxc) *mxc = zc;
    if (z32 > *mx32) *mx32 = z32;
}

/* A neuron's maximum activation from its canonical maximum pre-activation. */
ML_HD float ml_max_act(int act, double mxc) { return (float)(mxc > 0 ? ml_act_d(act, mxc) : mxc); }

ML_HD void ml_scan_close(const ml_open_ex *e, float thr, int cap, ml_sel_slots s) {
    if (e->ex < 0 || *s.n >= cap || !(e->best >= thr)) return;
    s.example[*s.n] = e->ex;
    s.row[*s.n] = e->key;
    s.act[*s.n] = e->best;
    (*s.n)++;
}

/* Row r (of example ex, pre-activations p) with float pre-activation z32
 * for neuron q. */
ML_HD void ml_scan_row(ml_open_ex *cur, int64_t ex, int64_t r, float z32, const float *p, int d, int act,
                       const ml_scan_neuron *q, int cap, ml_sel_slots s) {
    if (*s.n >= cap) return;
    if (ex != cur->ex) {
        ml_scan_close(cur, q->thr, cap, s);
        cur->best = -INFINITY;
        cur->key = -1;
        cur->ex = ex;
    }
    if (!(z32 >= q->bound)) return;
    float a = (float)ml_act_d(act, ml_canon_z(p, q->w, d, q->b));
    if (a > cur->best) {
        cur->best = a;
        cur->key = r;
    }
}

/* Threshold and the screen's bound from a neuron's maximum activation. A
 * row qualifies when phi(canonical z), rounded to float, reaches thr; that
 * is monotone in z above 0 for every phi, so rows below the least such z
 * cannot qualify, nor be a qualifying context's argmax. `lo` is found by
 * bisection (identity and ReLU: thr itself); the bound is a margin below. */
ML_HD void ml_scan_limits(float mx, double act_frac, int act, float margin, float *thr, float *bound) {
    *thr = mx > 0 ? (float)(act_frac * mx) : INFINITY;
    if (!(*thr < INFINITY)) {
        *bound = INFINITY;
        return;
    }
    if (!(*thr > 0)) { /* act_frac 0 (or a maximum that rounds it to 0): phi(z) >= 0 holds below 0 too */
        *bound = -INFINITY;
        return;
    }
    double lo = 0, hi = *thr;
    if (act == ACT_NONE || act == ACT_RELU) {
        lo = *thr;
    } else {
        while (!((float)ml_act_d(act, hi) >= *thr)) hi *= 2; /* phi(z) > z/2 above thr for GELUs; SoLU above */
        for (int it = 0; it < 200 && hi - lo > 0x1p-52 * hi; it++) {
            double mid = 0.5 * (lo + hi);
            if ((float)ml_act_d(act, mid) >= *thr) hi = mid;
            else lo = mid;
        }
    }
    *bound = (float)(lo - margin);
}

/* Host, shared by both backends (src/embed_screen.c): each neuron's
 * margin from the largest row norm of the layer's pre-activations and the
 * norm of its weight column. */
void ml_embed_margins(const ml_layer *L, float *margin);

#endif
