/* --device auto|cpu|cuda -> a backend, the same way for every command
 * (docs/architecture.md "Choosing the device").
 *
 * auto uses a CUDA device only when it has passed `monolab selftest` for
 * this build, this GPU, driver and runtime, and this kernel variant set
 * (device_stamp.h). Without such a stamp it runs the quick self-test
 * first, in a child process, so that a CUDA error or a fault in it cannot
 * take the user's command down; a failure or a crash means the CPU, said
 * in one line. --device cuda runs on the GPU without asking, with a
 * warning when the GPU has no passing stamp. */
#include "monolab/backend.h"
#include "monolab/common.h"
#include "monolab/device_stamp.h"
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* `monolab selftest --device cuda --quick` in a child; its output goes to
 * the stamp's folder as selftest-last.log. The child writes the stamp on
 * pass or fail; a crash leaves none, so the parent records it. */
static void selftest_in_child(const ml_stamp_key *k) {
    char log[ML_PATH_MAX];
    if (!ml_stamp_log_path(k, log, sizeof log)) snprintf(log, sizeof log, "/dev/null");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) ml_die("fork for the GPU self-test failed");
    if (pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        if (!f) f = freopen("/dev/null", "w", stdout);
        dup2(fileno(stdout), 2);
        execl("/proc/self/exe", "monolab", "selftest", "--device", "cuda", "--quick", (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {}
    if (WIFSIGNALED(st)) {
        char why[128];
        snprintf(why, sizeof why, "the self-test crashed (signal %d)", WTERMSIG(st));
        ml_stamp_write(k, 0, why);
    } else if (WIFEXITED(st) && WEXITSTATUS(st) > 1) {
        char why[128];
        snprintf(why, sizeof why, "the self-test could not run (exit %d)", WEXITSTATUS(st));
        ml_stamp_write(k, 0, why);
    }
}

/* auto with a CUDA device present: the GPU if its stamp passes. */
static const ml_backend *auto_choice(const ml_backend *cuda, const char *reason) {
    ml_stamp_key k;
    char date[40] = "", summary[400] = "";
    if (!ml_stamp_key_now(&k)) return &ml_backend_cpu;
    ml_stamp_state s = ml_stamp_read(&k, date, sizeof date, summary, sizeof summary);
    if (s == ML_STAMP_NONE) {
        fprintf(stderr, "[monolab] first use of this GPU by this build (%s): checking it against the CPU with "
                        "`monolab selftest --quick`, once (seconds) ...\n", reason);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        selftest_in_child(&k);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        s = ml_stamp_read(&k, date, sizeof date, summary, sizeof summary);
        if (s == ML_STAMP_PASS)
            fprintf(stderr, "[monolab] the GPU passed its self-test in %.0f s; using it\n",
                    (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    }
    if (s == ML_STAMP_PASS) return cuda;
    fprintf(stderr, "[monolab] using the CPU: the GPU %s its self-test%s%s (%s); `monolab selftest --device cuda` "
                    "shows the details\n", s == ML_STAMP_FAIL ? "failed" : "has no record of",
            date[0] ? " on " : "", date, summary[0] ? summary : "no verdict was recorded");
    return &ml_backend_cpu;
}

const ml_backend *ml_backend_pick(const char *device) {
    char reason[256] = "";
    if (!strcmp(device, "cpu")) return &ml_backend_cpu;
    if (strcmp(device, "auto") && strcmp(device, "cuda")) ml_die("--device must be auto, cpu or cuda, got '%s'", device);
    const ml_backend *cuda = ml_backend_cuda_get(reason, sizeof reason);
    if (!strcmp(device, "cuda")) {
        if (!cuda) ml_die("--device cuda: %s", reason);
        ml_stamp_key k;
        char date[40] = "";
        ml_stamp_state s = ml_stamp_key_now(&k) ? ml_stamp_read(&k, date, sizeof date, NULL, 0) : ML_STAMP_NONE;
        if (s != ML_STAMP_PASS)
            fprintf(stderr, "[monolab] warning: --device cuda on a GPU that %s (`monolab selftest` checks it)\n",
                    s == ML_STAMP_FAIL ? "FAILED its self-test" : "has not passed a self-test with this build");
        return cuda;
    }
    if (!cuda) return &ml_backend_cpu; /* said by `monolab info`, not by every command on a CPU machine */
    return auto_choice(cuda, reason);
}
