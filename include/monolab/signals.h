/* SIGINT, SIGTERM and SIGHUP (Ctrl-C, a scheduler's preemption, a closed
 * terminal) as a request to
 * stop at the next step boundary (src/signals.c). The sweep then discards
 * the unfinished group, keeps every finished one (already on disk, fsynced)
 * and exits 128 + signal (130, 143 or 129) with the command that resumes it.
 * A second signal is not caught: it kills at once, which is also safe,
 * because every output file is replaced atomically. */
#ifndef MONOLAB_SIGNALS_H
#define MONOLAB_SIGNALS_H

/* Install the handlers; argv (the sweep's own arguments, after "sweep")
 * is kept for the resume hint. */
void ml_signals_install(int argc, char **argv);
/* 0, or the signal that asked us to stop. Async-signal-safe to poll. */
int ml_stop_signal(void);
/* Print how to resume and exit 128 + the signal. */
void ml_exit_stopped(const char *outdir, int n_done, int n_total) __attribute__((noreturn));

#endif
