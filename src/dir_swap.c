/* Build beside, swap in (see dir_swap.h). */
#include "monolab/dir_swap.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/outdir_lock.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The build folder begun and not yet committed, and the process that began
 * it. A command refused between begin and commit exits through ml_die
 * (exit 2): the folder, empty or half written, is then removed on the way
 * out, so a refusal leaves nothing beside the target. Only that process
 * removes it: a forked child that exits through the same handlers (one
 * whose exec failed) must not take its parent's build away. A killed
 * process runs no handler; the next begin removes what it left. */
static char *pending;
static pid_t pending_pid;

static void remove_pending(void) {
    if (pending && getpid() == pending_pid && ml_rmtree_try(pending))
        fprintf(stderr, "[monolab] could not remove the unfinished build %s: %s\n", pending, strerror(errno));
}

static void track(const char *build) {
    static int registered;
    if (!registered && atexit(remove_pending) == 0) registered = 1;
    free(pending);
    pending = ml_strdup(build);
    pending_pid = getpid();
}

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
    track(build);
}

void ml_dir_build_commit(const char *build, const char *target) {
    /* Finished work from here on: a failure below names it and leaves it. */
    free(pending);
    pending = NULL;
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
