/* Running gnuplot on a figure's script (see gnuplot_run.h). */
#include "monolab/gnuplot_run.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

FILE *ml_gp_open(const char *dir, const char *name, const char *ext) {
    char path[ML_PATH_MAX2];
    snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext);
    FILE *f = ml_create_new(path);
    if (!f) ml_io_die("cannot create", path, errno);
    return f;
}

void ml_gp_run(const char *dir, const char *name) {
    char gp[ML_PATH_MAX2], log[ML_PATH_MAX2];
    snprintf(gp, sizeof gp, "%s.gp", name);
    snprintf(log, sizeof log, "%s/%s.log", dir, name);
    FILE *lf = ml_create_new(log);
    if (!lf) ml_io_die("cannot create", log, errno);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) ml_fatal("fork: %s", strerror(errno));
    if (pid == 0) {
        if (chdir(dir) || dup2(fileno(lf), 2) < 0) _exit(127);
        execlp("gnuplot", "gnuplot", gp, (char *)NULL);
        _exit(127);
    }
    fclose(lf);
    int st;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
        ml_fatal("gnuplot failed on %s/%s.gp (see %s.log)", dir, name, name);
}

char *ml_gp_text(char *s) {
    for (char *c = s; *c; c++)
        if (strchr("\"'\\`@", *c) || (unsigned char)*c < 0x20 || *c == 0x7f) *c = '_';
    return s;
}
