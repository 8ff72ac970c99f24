/* Why adapt the thread count rather than the wait policy: at every barrier
 * an OpenMP thread either spins (fast to resume, but it burns its core) or
 * sleeps (free, but waking it costs about 100 us on a VM). Alone,
 * libgomp's default spin is the fastest; next to busy processes a spinning
 * thread burns the time slice its partner needs to reach the barrier, and
 * the paper-shape step ran 3.5-5.8x slower next to two CPU-bound processes
 * on 2 cores. No fixed wait policy was both within 5% of the default alone
 * and graceful when contended (passive: +41-67% alone; a 30,000 spin:
 * +8-20%; bench/RESULTS.md, "Shared machines"). A step on fewer threads
 * has fewer partners to wait for: on one thread it never waits at all. So
 * monolab keeps the default wait and sheds threads while the cores are
 * shared (ml_thread_gauge, below); tiny groups run on one thread anyway
 * (backend_cpu.c). OpenBLAS runs single-threaded inside our regions. */
#include "monolab/threads.h"
#include "monolab/progress.h"
#include "monolab/common.h"
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

void ml_thread_gauge_init(ml_thread_gauge *g, int max, int items) {
    *g = (ml_thread_gauge){0};
    g->max = g->nt = max > 0 ? max : 1;
    g->items = items > 0 ? items : 1;
    /* one thread has nothing to shed */
    g->fixed = g->max == 1 || getenv("OMP_NUM_THREADS") || getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT");
    g->backoff = 2.0;
    g->t_wall = -1;
}

int ml_thread_gauge_decide(ml_thread_gauge *g, double share, double now) {
    if (g->probing) { /* the window just measured ran on one more thread */
        g->probing = 0;
        if (share >= ML_GAUGE_KEEP) {
            g->backoff = 2.0;
        } else {
            g->nt = g->prev_nt;
            g->backoff = g->backoff * 2 < 16.0 ? g->backoff * 2 : 16.0;
        }
        g->next_probe = now + g->backoff;
    } else if (g->nt > 1 && share < ML_GAUGE_LOW) {
        /* keep the threads that got a whole core's worth, at least one */
        int keep = (int)(share * g->nt);
        g->nt = keep < 1 ? 1 : keep < g->nt ? keep : g->nt - 1;
        g->next_probe = now + g->backoff;
    } else if (g->nt < g->max && now >= g->next_probe) {
        g->prev_nt = g->nt;
        g->nt++;
        g->probing = 1;
    }
    return g->nt;
}

int ml_thread_gauge_begin(ml_thread_gauge *g) {
    if (g->fixed) return g->nt;
    g->t_wall = ml_now();
    g->t_cpu = cpu_seconds();
    return g->nt;
}

void ml_thread_gauge_end(ml_thread_gauge *g) {
    if (g->fixed || g->t_wall < 0) return;
    double now = ml_now();
    g->wall += now - g->t_wall;
    g->cpu += cpu_seconds() - g->t_cpu;
    g->t_wall = -1;
    if (g->wall < ML_GAUGE_WINDOW_S) return;
    /* items over nt threads: the busiest does ceil(items / nt), the rest wait */
    const int per = (g->items + g->nt - 1) / g->nt;
    const double allowed = (double)g->items / ((double)per * g->nt);
    const double share = g->cpu / (g->wall * g->nt) / allowed;
    g->wall = g->cpu = 0;
    const int before = g->nt;
    ml_thread_gauge_decide(g, share, now);
    static int said;
    if (g->nt < before && !said) {
        said = 1;
        ml_progress_own_line();
        fprintf(stderr, "[monolab] other processes share the cores: training on %d of %d threads while they do "
                        "(set OMP_NUM_THREADS to fix the count)\n", g->nt, g->max);
    }
}
