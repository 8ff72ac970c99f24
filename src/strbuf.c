/* The growing string of include/monolab/strbuf.h. */
#include "monolab/strbuf.h"
#include "monolab/common.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reserve(ml_sbuf *b, size_t n) {
    if (b->n + n + 1 <= b->cap) return;
    b->cap = 2 * (b->n + n + 1) + 4096; /* doubling: appends cost O(1) amortised */
    b->p = realloc(b->p, b->cap);
    if (!b->p) ml_fatal("out of memory");
}

void ml_sb_put(ml_sbuf *b, const char *s, size_t n) {
    reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void ml_sb_printf(ml_sbuf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) ml_fatal("bad format '%s'", fmt);
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}
