/* Shared helpers: allocation that never returns NULL, and the one way to
 * report bad usage or bad input (one line on stderr, exit code 2). */
#ifndef MONOLAB_COMMON_H
#define MONOLAB_COMMON_H
#include <stddef.h>
#include <stdint.h>

#define ML_EXIT_USAGE 2

/* A buffer for a path built from a folder and a file name: PATH_MAX (4096)
 * and room for the name. snprintf cuts anything longer, and then opening
 * the cut path fails naming it: never a silent write elsewhere. */
#define ML_PATH_MAX 4200
/* A path built from one of those and another name (a file in a folder
 * that is itself a path built at run time). */
#define ML_PATH_MAX2 (ML_PATH_MAX + 256)
/* A folder name the program makes up itself (runs/<stem>): short enough
 * that any file joined to it fits in ML_PATH_MAX. */
#define ML_DIR_MAX 1024

/* C11 _Noreturn, spelled so the CUDA (C++) sources can include this too. */
#ifdef __cplusplus
#define ML_NORETURN [[noreturn]]
#else
#define ML_NORETURN _Noreturn
#endif

void *ml_malloc(size_t n);
void *ml_calloc(size_t n, size_t size);
char *ml_strdup(const char *s);

/* Print "monolab: <message>" and exit 2. Used for every user-facing error
 * (bad config, bad CLI, bad file) so callers need no cleanup paths: output
 * files are only ever replaced atomically or appended with fsync. */
ML_NORETURN void ml_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Internal errors (out of memory, I/O failure on a file we created). Exit 1. */
ML_NORETURN void ml_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Test harnesses only (the config fuzzer): called with the exit code and
 * the one-line message instead of printing and exiting; it must not return
 * (it longjmps back to the harness). */
typedef void (*ml_die_hook)(int code, const char *msg);
void ml_set_die_hook(ml_die_hook hook);

double ml_now(void); /* monotonic seconds */

#endif
