/* A growing string: the one text builder of the config loaders' resolved
 * YAML and the explorer's JSON. Never fails (out of memory is fatal); the
 * text stays NUL-terminated. */
#ifndef MONOLAB_STRBUF_H
#define MONOLAB_STRBUF_H
#include <stddef.h>

typedef struct {
    char *p;
    size_t n, cap;
} ml_sbuf;

void ml_sb_put(ml_sbuf *b, const char *s, size_t n);
void ml_sb_printf(ml_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
