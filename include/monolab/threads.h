/* Threads on shared machines (src/threads.c): monolab keeps libgomp's own
 * wait policy (spin, then sleep), the fastest alone, and sheds threads
 * while other processes share its cores. A user's OMP_WAIT_POLICY,
 * GOMP_SPINCOUNT and OMP_NUM_THREADS apply as set. */
#ifndef MONOLAB_THREADS_H
#define MONOLAB_THREADS_H

/* How many threads a CPU training step should use now. Alone on its cores
 * a step uses them all; when other processes hold some of them, a thread
 * of ours waits at every barrier for a partner that has been descheduled,
 * so the step drops to the threads that get a core to themselves. The
 * gauge watches the share of the steps' wall time their threads actually
 * got on a CPU (process CPU time / (wall x threads)), against the share an
 * uneven split of the step's work items over those threads allows, over
 * windows of about 0.1 s of steps: below ML_GAUGE_LOW it sheds threads; with fewer than the maximum
 * it tries one more now and then (every 2 s, backing off to 16 s while
 * tries keep failing) and keeps it if the share stays high. Results never
 * depend on the thread count (docs/architecture.md "Determinism"), only the
 * speed does. With OMP_NUM_THREADS set the user's count is used as is, and
 * with OMP_WAIT_POLICY or GOMP_SPINCOUNT set so is every thread (sleeping
 * waits would read as lost CPU). The first time a process sheds threads it
 * says so in one line on stderr. */
typedef struct {
    int max, nt;          /* most threads, and the count in use */
    int fixed;            /* one thread, or the user chose threads or waiting: never adapt */
    int items;            /* work items a parallel region splits over the threads */
    int probing, prev_nt; /* trying nt = prev_nt + 1 */
    double t_wall, t_cpu; /* start of the step being timed, or -1 */
    double wall, cpu;     /* summed over the steps of the current window */
    double next_probe, backoff;
} ml_thread_gauge;

#define ML_GAUGE_LOW 0.75
#define ML_GAUGE_KEEP 0.85
#define ML_GAUGE_WINDOW_S 0.1

void ml_thread_gauge_init(ml_thread_gauge *g, int max, int items);
/* Around each training step (only the step is timed, so file writes and
 * evaluation between steps cannot look like contention): begin returns
 * the thread count for this step. */
int ml_thread_gauge_begin(ml_thread_gauge *g);
void ml_thread_gauge_end(ml_thread_gauge *g);
/* The decision alone, for tests: the share measured over the last window
 * (already divided by what the split of items allows), at time `now`;
 * returns the new count. */
int ml_thread_gauge_decide(ml_thread_gauge *g, double share, double now);

#endif
