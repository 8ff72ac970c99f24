/* The training rate (FLOP/s) a device measured last, for --dry-run's
 * wall-time estimate (src/device_rate.c). Every sweep that trains for a
 * second or more records the rate it achieved; where none has, --dry-run
 * measures one with a short calibration. The rate is cached in the user's
 * cache folder (user_cache.h) per device: the backend, and the GPU (name,
 * UUID) or the CPU (model, threads). */
#ifndef MONOLAB_DEVICE_RATE_H
#define MONOLAB_DEVICE_RATE_H
#include "monolab/backend.h"
#include "monolab/config.h"

typedef struct {
    double flops;   /* FLOP per second of training */
    char date[32];  /* when it was measured, UTC */
    char how[160];  /* "a sweep of 80 runs" or "calibration: ..." */
} ml_rate;

/* 1 and *r when be's device has a cached rate; 0 otherwise. */
int ml_rate_read(const ml_backend *be, ml_rate *r);
/* Records flops for be's device, atomically; a warning if it cannot. */
void ml_rate_write(const ml_backend *be, double flops, const char *how);
/* Trains a short copy of a group like runs[0..G) (about a second of work:
 * at most 64 models, fewer and a smaller batch where the group is bigger,
 * a few steps, no files) on be and records the rate it achieves. */
void ml_rate_calibrate(const ml_backend *be, const ml_run *const *runs, int G, ml_rate *r);

#endif
