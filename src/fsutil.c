#include "monolab/fsutil.h"
#include "monolab/common.h"
#include "monolab/testhook.h"
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A full disk, a read-only or vanished folder: the user's problem to fix,
 * so exit 2 with the file and the errno, like any other bad input. */
void ml_io_die(const char *what, const char *path, int err) {
    const char *name = strerrorname_np(err);
    ml_die("%s '%s': %s (%s)", what, path, strerror(err), name ? name : "?");
}

/* Give up on a temporary file: remove it (it may be what filled the disk)
 * and exit 2. The final name still holds its previous, complete content. */
static void atomic_fail(ml_atomic_file *a, const char *what, int err) {
    if (a->f) fclose(a->f);
    unlink(a->tmp);
    ml_io_die(what, a->path, err);
}

FILE *ml_create_new(const char *path) {
    /* O_EXCL|O_NOFOLLOW: never write through a file or symlink someone else
     * put at this name, e.g. a link planted in a shared output folder. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "wb");
    if (!f) close(fd);
    return f;
}

void ml_atomic_open(ml_atomic_file *a, const char *path) {
    a->path = ml_strdup(path);
    size_t n = strlen(path) + 16;
    a->tmp = ml_malloc(n);
    snprintf(a->tmp, n, "%s.tmp%d", path, (int)getpid());
    a->f = ml_create_new(a->tmp);
    /* A name taken by a dead writer of our pid, or by a planted link:
     * remove the name (never what it points to) and create it afresh. */
    if (!a->f && errno == EEXIST && unlink(a->tmp) == 0) a->f = ml_create_new(a->tmp);
    if (!a->f) ml_io_die("cannot create a temporary file for", path, errno);
}

void ml_atomic_write(ml_atomic_file *a, const void *data, size_t n) {
    if (n && fwrite(data, 1, n, a->f) != n) atomic_fail(a, "cannot write", errno);
}

void ml_atomic_printf(ml_atomic_file *a, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int w = vfprintf(a->f, fmt, ap);
    va_end(ap);
    if (w < 0) atomic_fail(a, "cannot write", errno);
}

/* Make a rename durable: fsync the folder that holds the new name. */
static void sync_parent(const char *path) {
    char *dir = ml_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) *slash = 0;
    int fd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd); /* best effort: some filesystems refuse fsync on folders */
        close(fd);
    }
    free(dir);
}

void ml_atomic_commit(ml_atomic_file *a) {
    ml_test_write_point(a->path); /* test-only: may kill us with a half-written temp file */
    if (fflush(a->f) || fsync(fileno(a->f))) atomic_fail(a, "cannot write", errno);
    FILE *f = a->f;
    a->f = NULL;
    if (fclose(f)) atomic_fail(a, "cannot write", errno);
    if (rename(a->tmp, a->path)) atomic_fail(a, "cannot rename a temporary file onto", errno);
    sync_parent(a->path);
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
            if (mkdir(p, 0777) && errno != EEXIST) ml_io_die("cannot create directory", p, errno);
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
    /* Old bytes + new into a temporary file, then rename: a reader never
     * sees a partial row, and a killed or failing writer leaves the old
     * file. Rewriting costs O(file) per append; runs.csv is appended once
     * per group, and a million-row file is ~300 MB, rewritten in seconds. */
    size_t old_n = 0;
    errno = 0;
    char *old = ml_read_file(path, &old_n);
    if (!old && errno != ENOENT) ml_io_die("cannot read", path, errno);
    ml_atomic_file f;
    ml_atomic_open(&f, path);
    if (old) ml_atomic_write(&f, old, old_n);
    ml_atomic_write(&f, data, n);
    ml_atomic_commit(&f);
    free(old);
}

int ml_open_input(const char *path, size_t max, size_t *size) {
    /* O_NONBLOCK: opening a FIFO with no writer must not hang; the fstat
     * then refuses it, and devices such as /dev/zero that never end. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st)) ml_io_die("cannot read", path, errno);
    if (!S_ISREG(st.st_mode))
        ml_die("%s: not a regular file (a %s); monolab reads only regular files", path,
               S_ISFIFO(st.st_mode) ? "FIFO" : S_ISDIR(st.st_mode) ? "folder" : S_ISSOCK(st.st_mode) ? "socket" : "device");
    if ((unsigned long long)st.st_size > max)
        ml_die("%s: %lld bytes is more than the %zu this file may have", path, (long long)st.st_size, max);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK)) ml_io_die("cannot read", path, errno);
    if (size) *size = (size_t)st.st_size;
    return fd;
}

char *ml_read_file_max(const char *path, size_t *len, size_t max) {
    size_t size;
    int fd = ml_open_input(path, max, &size);
    if (fd < 0) return NULL;
    /* The size fstat saw, and one byte more to notice a file still growing
     * (a shard's runs.csv being appended): read what is there, up to max. */
    size_t cap = size + 2, n = 0;
    char *buf = ml_malloc(cap);
    for (;;) {
        if (n + 1 >= cap) {
            if (cap > max + 1) ml_die("%s: grew past the %zu bytes this file may have while being read", path, max);
            cap = cap * 2 > max + 2 ? max + 2 : cap * 2;
            buf = realloc(buf, cap);
            if (!buf) ml_fatal("out of memory reading '%s'", path);
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) ml_io_die("cannot read", path, errno);
        if (!r) break;
        n += (size_t)r;
    }
    close(fd);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

char *ml_read_file(const char *path, size_t *len) { return ml_read_file_max(path, len, ML_READ_MAX); }

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
    (void)st, (void)ftw;
    return (type == FTW_DP ? rmdir(path) : unlink(path)) ? -1 : 0;
}

int ml_rmtree_try(const char *path) {
    /* FTW_PHYS: a symlink inside is removed, never followed */
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) && errno != ENOENT ? -1 : 0;
}

void ml_rmtree(const char *path) {
    if (ml_rmtree_try(path)) ml_io_die("cannot remove", path, errno);
}

void ml_prune_numbered(const char *dir, const char *prefix, long keep) {
    DIR *d = opendir(dir);
    if (!d) return;
    size_t pl = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *num = e->d_name + pl;
        if (strncmp(e->d_name, prefix, pl) || !*num || strspn(num, "0123456789") != strlen(num)) continue;
        if (strtol(num, NULL, 10) < keep) continue;
        char path[ML_PATH_MAX2];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ml_rmtree(path);
    }
    closedir(d);
}
