/* File helpers with the durability the output contracts promise: every
 * file appears atomically (write a temporary name, fsync, rename, fsync the
 * folder), so no torn or half-written file is ever visible under its final
 * name. Any I/O failure (full disk, read-only folder) exits 2 with one line
 * naming the file and the errno, after removing the temporary file. */
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
/* Append bytes durably; the file is replaced atomically (see fsutil.c). */
void ml_append_sync(const char *path, const char *data, size_t n);
/* Exit 2 with "<what> '<path>': <strerror> (<ERRNO name>)". */
void ml_io_die(const char *what, const char *path, int err) __attribute__((noreturn));
/* Every read of a file a user can name or plant goes through these: only a
 * regular file (a FIFO or device exits 2 at once, naming the file), and
 * never more than a stated size (exit 2 before reading anything).
 * ml_open_input returns a blocking fd and its size, or -1 with errno set
 * (ENOENT: it does not exist). */
int ml_open_input(const char *path, size_t max, size_t *size);
/* Whole file into a NUL-terminated buffer, or NULL if it cannot be opened
 * (errno says why). ml_read_file's limit, ML_READ_MAX, fits a runs.csv of
 * millions of rows; configs have their own, smaller one. */
#define ML_READ_MAX ((size_t)1 << 30)
char *ml_read_file_max(const char *path, size_t *len, size_t max);
char *ml_read_file(const char *path, size_t *len);
/* A new file for writing, created with O_EXCL|O_NOFOLLOW: NULL (errno set)
 * if anything, a symlink included, already has that name. */
FILE *ml_create_new(const char *path);

/* rm -rf, never following a symlink inside. */
void ml_rmtree(const char *path);
/* The same, returning -1 (errno set) instead of exiting: for clean-up on
 * the way out, where exiting again is not allowed. */
int ml_rmtree_try(const char *path);
/* Removes the entries of dir named <prefix><number> with number >= keep:
 * what a smaller re-run into a folder leaves of a larger one. */
void ml_prune_numbered(const char *dir, const char *prefix, long keep);

#endif
