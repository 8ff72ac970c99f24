/* Build beside, swap in (see dir_swap.h). */
#include "monolab/dir_swap.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/outdir_lock.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

/* "<dir>/.<name><suffix>" for target "<dir>/<name>". */
static void beside(char *buf, size_t n, const char *target, const char *suffix) {
    size_t len = strlen(target);
    while (len > 1 && target[len - 1] == '/') len--; /* "site/" is "site" */
    const char *slash = memrchr(target, '/', len);
    int dir_len = slash ? (int)(slash - target + 1) : 0;
    snprintf(buf, n, "%.*s.%.*s%s", dir_len, target, (int)len - dir_len, target + dir_len, suffix);
}

void ml_dir_build_begin(const char *target, char *build, size_t n) {
    char lock[ML_PATH_MAX2], parent[ML_PATH_MAX2];
    beside(lock, sizeof lock, target, ".lock");
    ml_outdir_refuse_shared(target);
    size_t len = strlen(target);
    while (len > 1 && target[len - 1] == '/') len--;
    const char *slash = memrchr(target, '/', len);
    if (slash && slash > target) { /* the lock's folder (TARGET's parent) must exist before the lock */
        snprintf(parent, sizeof parent, "%.*s", (int)(slash - target), target);
        ml_mkdirs(parent);
    }
    ml_lock_path(lock, target);
    beside(build, n, target, ".partial");
    ml_rmtree(build); /* a killed build's: only a lock holder writes there */
    ml_mkdirs(build); /* and the target's parents */
}

void ml_dir_build_commit(const char *build, const char *target) {
    if (renameat2(AT_FDCWD, build, AT_FDCWD, target, RENAME_EXCHANGE) == 0) {
        ml_rmtree(build); /* now the old target */
        return;
    }
    if (errno == ENOENT && rename(build, target) == 0) return; /* no old target */
    /* A file system without RENAME_EXCHANGE: two renames, a moment apart. */
    char old[ML_PATH_MAX2];
    beside(old, sizeof old, target, ".old");
    ml_rmtree(old);
    if (rename(target, old) && errno != ENOENT) ml_io_die("cannot move aside", target, errno);
    if (rename(build, target)) ml_io_die("cannot rename a finished build onto", target, errno);
    ml_rmtree(old);
}
