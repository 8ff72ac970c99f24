#include "monolab/common.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *ml_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) ml_fatal("out of memory allocating %zu bytes", n);
    return p;
}

void *ml_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) ml_fatal("out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

char *ml_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = ml_malloc(n);
    memcpy(p, s, n);
    return p;
}

void ml_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("monolab: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(ML_EXIT_USAGE);
}

void ml_fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("monolab: fatal: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

double ml_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
