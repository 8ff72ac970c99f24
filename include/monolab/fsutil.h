/* File helpers with the durability the output contracts promise: whole
 * files appear atomically (write temp, fsync, rename), appends are fsynced. */
#ifndef MONOLAB_FSUTIL_H
#define MONOLAB_FSUTIL_H
#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *f;
    char *path, *tmp;
} ml_atomic_file;

void ml_atomic_open(ml_atomic_file *a, const char *path);
void ml_atomic_write(ml_atomic_file *a, const void *data, size_t n);
void ml_atomic_printf(ml_atomic_file *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ml_atomic_commit(ml_atomic_file *a);
/* The whole file at once: text and a final newline (the JSON outputs). */
void ml_atomic_write_text(const char *path, const char *text);

/* mkdir -p; dies with a clear message if a component is not a directory. */
void ml_mkdirs(const char *path);
int ml_file_exists(const char *path);
/* Append bytes and fsync before returning. */
void ml_append_sync(const char *path, const char *data, size_t n);
/* Whole file into a NUL-terminated buffer, or NULL if it does not exist. */
char *ml_read_file(const char *path, size_t *len);

#endif
