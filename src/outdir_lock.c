/* One sweep per output folder: an flock on OUTDIR/.monolab.lock, and the
 * clean-up of a killed predecessor's temporary files. See outdir_lock.h. */
#include "monolab/outdir_lock.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* Temporary names come from ml_atomic_open: "<final>.tmp<pid>". */
static int is_tmp_name(const char *name) {
    const char *t = strstr(name, ".tmp");
    if (!t || t == name || !t[4]) return 0;
    for (const char *c = t + 4; *c; c++)
        if (*c < '0' || *c > '9') return 0;
    return 1;
}

static void clean_dir(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_DIR && depth > 0) clean_dir(path, depth - 1);
        else if (e->d_type == DT_REG && is_tmp_name(e->d_name) && unlink(path) == 0)
            fprintf(stderr, "[monolab] removed %s, left by an interrupted writer\n", path);
    }
    closedir(d);
}

void ml_outdir_lock(const char *outdir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/.monolab.lock", outdir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) ml_io_die("cannot write into the output folder: cannot create", path, errno);
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        if (errno != EWOULDBLOCK) ml_io_die("cannot lock", path, errno);
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        ml_die("%s is in use by another monolab sweep (pid %s, lock %s); wait for it to finish, or pick another -o",
               outdir, pid[0] ? pid : "unknown", path);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n)
        ml_io_die("cannot write into the output folder: cannot write", path, errno);
    /* fd stays open on purpose: closing it would release the lock. */
    clean_dir(outdir, 2); /* OUTDIR, loss/, ckpt/<run>/ */
}
