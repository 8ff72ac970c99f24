/* Stop requests from SIGINT/SIGTERM/SIGHUP: see include/monolab/signals.h. */
#include "monolab/signals.h"
#include "monolab/progress.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t stop_sig;
static int saved_argc;
static char **saved_argv;

static void on_signal(int sig) { stop_sig = sig; }

void ml_signals_install(int argc, char **argv) {
    saved_argc = argc;
    saved_argv = argv;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND; /* the second signal takes the default action */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL); /* the terminal closed (ssh dropped): stop as cleanly as on Ctrl-C */
}

int ml_stop_signal(void) { return stop_sig; }

/* An argument as the shell would need it. */
static void put_arg(const char *a) {
    if (*a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,/=:+@%[]") == strlen(a)) {
        fprintf(stderr, " %s", a);
        return;
    }
    fputs(" '", stderr);
    for (; *a; a++) {
        if (*a == '\'') fputs("'\\''", stderr);
        else fputc(*a, stderr);
    }
    fputc('\'', stderr);
}

void ml_exit_stopped(const char *outdir, int n_done, int n_total) {
    int sig = stop_sig ? stop_sig : SIGTERM;
    ml_progress_own_line();
    fprintf(stderr, "[monolab] stopped by %s at a step boundary: %d of %d runs are finished and saved in %s.\n",
            sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM", n_done, n_total, outdir);
    fputs("[monolab] continue with: monolab sweep", stderr);
    int has_resume = 0;
    for (int i = 0; i < saved_argc; i++) {
        has_resume |= !strcmp(saved_argv[i], "--resume");
        put_arg(saved_argv[i]);
    }
    fprintf(stderr, "%s\n", has_resume ? "" : " --resume");
    exit(128 + sig);
}
