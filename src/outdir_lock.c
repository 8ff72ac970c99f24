/* One monolab command per output folder: an flock on OUTDIR/.monolab.lock, and the
 * clean-up of a killed predecessor's temporary files. See outdir_lock.h. */
#include "monolab/outdir_lock.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Temporary names come from ml_atomic_open: "<final>.tmp<pid>"; older
 * merges named theirs "<final>.merge<pid>". */
static int is_tmp_name(const char *name) {
    const char *kinds[] = {".tmp", ".merge"};
    for (int k = 0; k < 2; k++) {
        const char *t = strstr(name, kinds[k]);
        size_t l = strlen(kinds[k]);
        if (!t || t == name || !t[l]) continue;
        if (strspn(t + l, "0123456789") == strlen(t + l)) return 1;
    }
    return 0;
}

static void clean_dir(const char *dir, int depth) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        /* shards/ belongs to the shards' own sweeps, each under its own lock */
        if (e->d_type == DT_DIR && depth > 0 && strcmp(e->d_name, "shards")) clean_dir(path, depth - 1);
        else if (e->d_type == DT_REG && is_tmp_name(e->d_name) && unlink(path) == 0)
            fprintf(stderr, "[monolab] removed %s, left by an interrupted writer\n", path);
    }
    closedir(d);
}

void ml_outdir_refuse_shared(const char *outdir) {
    char real[PATH_MAX], home[PATH_MAX];
    if (!realpath(outdir, real)) return; /* not there yet: neither / nor a home */
    if (!strcmp(real, "/"))
        ml_die("-o %s is the filesystem root; monolab writes only into a folder of its own, pick another -o", outdir);
    const struct passwd *pw = getpwuid(getuid());
    const char *homes[] = {getenv("HOME"), pw ? pw->pw_dir : NULL};
    for (int i = 0; i < 2; i++)
        if (homes[i] && realpath(homes[i], home) && !strcmp(real, home))
            ml_die("-o %s is the home folder %s; monolab writes only into a folder of its own, pick another -o", outdir,
                   home);
}

void ml_lock_path(const char *path, const char *folder) {
    /* O_NOFOLLOW: a lock planted as a symlink must not make us truncate
     * and write its target; O_NONBLOCK: nor may a planted FIFO hang us. */
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0 && errno == ELOOP)
        ml_die("%s is a symbolic link, not a monolab lock; remove it (monolab never follows it)", path);
    if (fd < 0) ml_io_die("cannot write into the output folder: cannot create", path, errno);
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode))
        ml_die("%s is not a regular file, not a monolab lock; remove it", path);
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        if (errno != EWOULDBLOCK) ml_io_die("cannot lock", path, errno);
        char pid[32] = "";
        ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        ml_die("%s is in use by another monolab command (pid %s, lock %s); wait for it to finish, or pick another -o",
               folder, pid[0] ? pid : "unknown", path);
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n)
        ml_io_die("cannot write into the output folder: cannot write", path, errno);
    /* fd stays open on purpose: closing it would release the lock. */
}

void ml_outdir_lock(const char *outdir) {
    ml_outdir_refuse_shared(outdir);
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/.monolab.lock", outdir);
    ml_lock_path(path, outdir);
    clean_dir(outdir, 2); /* OUTDIR, loss/, ckpt/<run>/, saes/<sae>/ */
}

void ml_outdir_claim(const char *outdir) {
    ml_outdir_refuse_shared(outdir); /* before mkdir: -o ~/new is fine, -o ~ is not */
    ml_mkdirs(outdir);
    ml_outdir_lock(outdir);
}
