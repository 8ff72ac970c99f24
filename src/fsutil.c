#include "monolab/fsutil.h"
#include "monolab/common.h"
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void ml_atomic_open(ml_atomic_file *a, const char *path) {
    a->path = ml_strdup(path);
    size_t n = strlen(path) + 16;
    a->tmp = ml_malloc(n);
    snprintf(a->tmp, n, "%s.tmp%d", path, (int)getpid());
    a->f = fopen(a->tmp, "wb");
    if (!a->f) ml_fatal("cannot create '%s': %s", a->tmp, strerror(errno));
}

void ml_atomic_write(ml_atomic_file *a, const void *data, size_t n) {
    if (n && fwrite(data, 1, n, a->f) != n) ml_fatal("write to '%s' failed: %s", a->tmp, strerror(errno));
}

void ml_atomic_printf(ml_atomic_file *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (vfprintf(a->f, fmt, ap) < 0) ml_fatal("write to '%s' failed", a->tmp);
    va_end(ap);
}

void ml_atomic_commit(ml_atomic_file *a) {
    if (fflush(a->f) || fsync(fileno(a->f)) || fclose(a->f))
        ml_fatal("cannot finish '%s': %s", a->tmp, strerror(errno));
    if (rename(a->tmp, a->path)) ml_fatal("cannot rename '%s' to '%s': %s", a->tmp, a->path, strerror(errno));
    free(a->path);
    free(a->tmp);
}

void ml_atomic_write_text(const char *path, const char *text) {
    ml_atomic_file f;
    ml_atomic_open(&f, path);
    ml_atomic_write(&f, text, strlen(text));
    ml_atomic_write(&f, "\n", 1);
    ml_atomic_commit(&f);
}

void ml_mkdirs(const char *path) {
    char *p = ml_strdup(path);
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, 0777) && errno != EEXIST) ml_die("cannot create directory '%s': %s", p, strerror(errno));
            struct stat st;
            if (stat(p, &st) || !S_ISDIR(st.st_mode)) ml_die("'%s' exists and is not a directory", p);
            *s = c;
            if (!c) break;
        }
    }
    free(p);
}

int ml_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

void ml_append_sync(const char *path, const char *data, size_t n) {
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0666);
    if (fd < 0) ml_fatal("cannot open '%s' for appending: %s", path, strerror(errno));
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, data + done, n - done);
        if (w < 0) {
            if (errno == EINTR) continue;
            ml_fatal("write to '%s' failed: %s", path, strerror(errno));
        }
        done += (size_t)w;
    }
    if (fsync(fd)) ml_fatal("fsync of '%s' failed: %s", path, strerror(errno));
    close(fd);
}

char *ml_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = ml_malloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            if (!buf) ml_fatal("out of memory reading '%s'", path);
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (!r) break;
        n += r;
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}
