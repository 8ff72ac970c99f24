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

static ml_die_hook die_hook;

void ml_set_die_hook(ml_die_hook hook) { die_hook = hook; }

/* The one place a message leaves: always exactly one line of UTF-8, whatever
 * bytes a hostile config or override put into it (newlines, escapes,
 * invalid UTF-8). */
ML_NORETURN static void say_and_exit(int code, const char *prefix, const char *fmt, va_list ap) {
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    for (unsigned char *c = (unsigned char *)msg; *c; c++) {
        if (*c < 0x20 || *c == 0x7f) *c = '?';
        if (*c < 0x80) continue;
        int len = *c >= 0xf0 && *c < 0xf5 ? 4 : *c >= 0xe0 ? 3 : *c >= 0xc2 && *c < 0xe0 ? 2 : 0;
        int ok = len > 0;
        for (int k = 1; ok && k < len; k++) ok = (c[k] & 0xc0) == 0x80;
        if (ok) c += len - 1;
        else *c = '?'; /* not UTF-8: a terminal or log must not choke on it */
    }
    if (die_hook) die_hook(code, msg);
    fprintf(stderr, "monolab: %s%s\n", prefix, msg);
    exit(code);
}

void ml_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say_and_exit(ML_EXIT_USAGE, "", fmt, ap);
}

void ml_fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    say_and_exit(1, "fatal: ", fmt, ap);
}

double ml_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}
