/* The one interface every backend implements (docs/architecture.md
 * "Backend interface").
 * The training loop, sweep planner, metrics and I/O sit above it and are
 * written once. All buffers are the backend's own; the host sees only what
 * the read-out calls copy back. */
#ifndef MONOLAB_BACKEND_H
#define MONOLAB_BACKEND_H
#include "monolab/embed_layer.h"
#include "monolab/group.h"
#include <stddef.h>
#include <stdint.h>

typedef struct ml_backend {
    const char *name;
    /* Allocate and upload init params, embedders and feature probabilities. */
    void *(*create)(const ml_group *g);
    void (*destroy)(void *st);
    /* Draw the batch of (stream, step) for every model: inputs x = P v and
     * targets, B samples each. */
    void (*sample)(void *st, const ml_group *g, uint32_t stream, uint32_t step);
    /* pre = W1 x + b1, h = phi(pre), y = W2 h. */
    void (*forward)(void *st, const ml_group *g);
    /* Loss and gradients of the current batch. A model whose loss is not
     * finite is frozen from here on (no more updates) and its step noted. */
    void (*backward)(void *st, const ml_group *g, long step);
    /* One optimiser step with lr_t = lr * sched, then bias decay if
     * decay_on. Frozen models are left untouched. */
    void (*optimize)(void *st, const ml_group *g, long step, float sched, int decay_on);
    /* Per-model sum over the current batch of squared error / B (the logged
     * loss term), for the eval batch. */
    void (*mse)(void *st, const ml_group *g, double *out);
    /* Loss of the last backward() per model, and the step each model froze
     * at (-1 if it did not). */
    void (*status)(void *st, const ml_group *g, double *loss, long *frozen_at);
    /* Copy all parameters, [G][n_param], to the host. */
    void (*params)(void *st, const ml_group *g, float *out);
    /* Single-feature activations S, [G][k][N] (docs/science.md §1.9). */
    void (*sfa)(void *st, const ml_group *g, float *S);
    /* Copy a working buffer to the host, for tests that compare the twins
     * op by op: "X" [G][B][m], "T" and "Y" [G][B][out], "PRE", "H", "dH"
     * [G][B][k], "grads", "m1", "m2" [G][n_param]. */
    void (*peek)(void *st, const ml_group *g, const char *name, float *out);
    /* Bytes a group may use on this backend's device; NULL: half of host RAM.
     * A function of the device model only (never of free memory at that
     * moment), so that the group plan, and with it every result, is the
     * same on every run on the same kind of device. */
    size_t (*memory_budget)(void);
    /* `monolab embed` on this backend: selection, embedding and clustering
     * of every neuron of a layer (ml_embed_cpu in embed_cpu.h, ml_embed_cuda in kernels/embed_cuda.cuh). */
    void (*embed)(const ml_layer *L, const ml_embed_opts *o, ml_selection *sel, ml_neuron_result *res,
                  double *t_select, double *t_cluster);
    /* embed's similar clusters: for each row of E [C][d], the k rows of
     * other groups most similar to it (ml_similar_topk in embed_similar.h,
     * ml_similar_topk_cuda in kernels/embed_similar_cuda.cuh). */
    void (*similar_topk)(const float *E, int64_t C, int d, const int *group, int k, int64_t *idx, float *sim);
    /* Optional: one whole training step, the same as sample(TRAIN, step),
     * forward, backward(step) and optimize(step, sched, decay_on) in turn.
     * NULL: the training loop makes those four calls. A backend sets it
     * when it can run the step as one unit (the CUDA backend replays a
     * CUDA Graph). */
    void (*train_step)(void *st, const ml_group *g, long step, float sched, int decay_on);
    /* Optional: how many groups like this one (shape r, G models) should
     * train side by side (ml_train_groups) because one alone cannot fill
     * the device. A function of the config and the device model only, like
     * memory_budget. NULL: 1, one group at a time. */
    int (*side_by_side)(const ml_run *r, int G);
} ml_backend;

/* The working buffers peek() copies, the same on every backend: their
 * names' order, and for group g the index of the named one and its element
 * count (src/backend_peek.c; an unknown name is an internal error). */
enum { ML_BUF_X, ML_BUF_T, ML_BUF_Y, ML_BUF_PRE, ML_BUF_H, ML_BUF_DH, ML_BUF_GRADS, ML_BUF_M1, ML_BUF_M2, ML_N_BUFS };
int ml_peek_buffer(const ml_group *g, const char *name, size_t *count);

extern const ml_backend ml_backend_cpu;
/* --device auto|cpu|cuda -> a backend (exits 2 on a bad or unavailable choice). */
const ml_backend *ml_backend_pick(const char *device);
/* NULL when built without CUDA or when no device is usable; reason gets why. */
const ml_backend *ml_backend_cuda_get(char *reason, size_t len);

/* What identifies the CUDA device a self-test stamp is for
 * (src/device_stamp.c): its name and UUID, compute capability, and the
 * driver's and runtime's versions. 0 when there is no usable device. */
typedef struct {
    char name[256];
    char uuid[40]; /* 32 hex digits */
    int cc_major, cc_minor, driver, runtime;
} ml_device_id;
int ml_cuda_device_id(ml_device_id *id);

#endif
