/* Measured training rates per device (include/monolab/device_rate.h). */
#include "monolab/device_rate.h"
#include "monolab/common.h"
#include "monolab/group.h"
#include "monolab/plan.h"
#include "monolab/train.h"
#include "monolab/user_cache.h"
#include <errno.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* What names the device: the rate of one is no guide to another. */
static void device_text(const ml_backend *be, char *buf, size_t n) {
    ml_device_id id;
    if (strcmp(be->name, "cpu") && ml_cuda_device_id(&id)) {
        snprintf(buf, n, "backend: %s\ndevice: %s\nuuid: %s\n", be->name, id.name, id.uuid);
        return;
    }
    char model[256] = "unknown", line[512];
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
            model[strcspn(model, "\n")] = 0;
            break;
        }
    if (f) fclose(f);
    snprintf(buf, n, "backend: %s\ndevice: %s\nthreads: %d\n", be->name, model, omp_get_max_threads());
}

static int rate_path(const char *dev, char *buf, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = dev; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    char name[64];
    snprintf(name, sizeof name, "rate-%016llx.txt", (unsigned long long)h);
    return ml_user_cache_path(name, buf, n);
}

int ml_rate_read(const ml_backend *be, ml_rate *r) {
    char dev[1024], path[ML_PATH_MAX], text[2048];
    device_text(be, dev, sizeof dev);
    if (!rate_path(dev, path, sizeof path) || ml_user_cache_read(path, text, sizeof text) <= 0) return 0;
    if (strncmp(text, dev, strlen(dev))) return 0; /* another device under this name */
    const char *f = strstr(text, "\nflops_per_s: "), *d = strstr(text, "\nmeasured: "), *h = strstr(text, "\nby: ");
    if (!f || !d || !h || sscanf(f, "\nflops_per_s: %lf", &r->flops) != 1 || !(r->flops > 0)) return 0;
    snprintf(r->date, sizeof r->date, "%.*s", (int)strcspn(d + 11, "\n"), d + 11);
    snprintf(r->how, sizeof r->how, "%.*s", (int)strcspn(h + 5, "\n"), h + 5);
    return 1;
}

void ml_rate_write(const ml_backend *be, double flops, const char *how) {
    char dev[1024], path[ML_PATH_MAX], text[2048], date[32];
    device_text(be, dev, sizeof dev);
    if (!rate_path(dev, path, sizeof path)) return; /* no cache folder: estimates calibrate each time */
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    snprintf(text, sizeof text, "%sflops_per_s: %.6g\nmeasured: %s\nby: %s\n", dev, flops, date, how);
    if (ml_user_cache_write(path, text))
        fprintf(stderr, "[monolab] warning: could not record the training rate in '%s': %s\n", path, strerror(errno));
}

/* The time of each log interval's end: the first is after setup, so the
 * steps between the first and the last are what the rate counts. */
typedef struct {
    double t_first, t_last;
    long s_first, s_last;
} clock_ctx;

static void on_log(void *vctx, const ml_group *g, ml_train_result *res, long done) {
    (void)g, (void)res;
    clock_ctx *c = vctx;
    if (!c->s_first) c->t_first = ml_now(), c->s_first = done;
    c->t_last = ml_now(), c->s_last = done;
}

/* The work of a calibration: about a second of a 2-core CPU, or of a GPU
 * at a fraction of its peak (a GPU needs paper-sized batches to show its
 * rate, a CPU's rate per FLOP hardly depends on them). */
static double calibration_flop(const ml_backend *be) { return strcmp(be->name, "cpu") ? 3e12 : 3e10; }
enum { CAL_MIN_STEPS = 40, CAL_MIN_BATCH = 64 };

void ml_rate_calibrate(const ml_backend *be, const ml_run *const *runs, int G, ml_rate *r) {
    /* At least 40 steps, timed from the end of the first of 8 log intervals
     * to the last, so that setup and the final metrics are not. A group too
     * big for the work trains fewer models, then a smaller batch: a paper
     * group (~1 TFLOP a step) must not make a dry run train for minutes. */
    const double work = calibration_flop(be);
    ml_run shape = *runs[0];
    double per_model = ml_run_step_flop(&shape);
    if (per_model * CAL_MIN_STEPS > work) {
        double b = shape.batch * work / (per_model * CAL_MIN_STEPS);
        shape.batch = b < CAL_MIN_BATCH ? CAL_MIN_BATCH : (int)b;
        per_model = ml_run_step_flop(&shape);
    }
    double fit = work / (per_model * CAL_MIN_STEPS);
    if (G > fit) G = fit < 1 ? 1 : (int)fit;
    if (G > 64) G = 64;
    double per_step = per_model * G;
    long steps = (long)(work / (per_step > 0 ? per_step : 1));
    steps = steps < CAL_MIN_STEPS ? CAL_MIN_STEPS : steps > shape.steps ? shape.steps : steps;
    ml_run *copy = ml_malloc(sizeof *copy * (size_t)G);
    const ml_run **ptr = ml_malloc(sizeof *ptr * (size_t)G);
    for (int i = 0; i < G; i++) {
        copy[i] = *runs[i];
        copy[i].batch = shape.batch;
        copy[i].steps = steps;
        copy[i].log_every = (int)(steps / 8 > 0 ? steps / 8 : 1);
        copy[i].eval_batch = copy[i].batch;
        copy[i].checkpoints = CKPT_NONE;
        ptr[i] = &copy[i];
    }
    ml_group *g = ml_group_create(ptr, G);
    ml_train_result res;
    clock_ctx c = {0, 0, 0, 0};
    ml_train_group(be, g, &res, NULL, on_log, &c);
    double dt = c.t_last - c.t_first;
    r->flops = per_step * (double)(c.s_last - c.s_first) / (dt > 1e-6 ? dt : 1e-6);
    snprintf(r->how, sizeof r->how, "calibration: %ld steps of %d models, N=%d m=%d k=%d batch %d", steps, G,
             shape.N, shape.m, shape.k, shape.batch);
    ml_rate_write(be, r->flops, r->how);
    time_t now = time(NULL);
    strftime(r->date, sizeof r->date, "%Y-%m-%d %H:%M UTC", gmtime(&now));
    ml_train_result_free(&res);
    ml_group_free(g);
    free(ptr);
    free(copy);
}
