/* Why a short spin: at every barrier an OpenMP thread either spins (fast
 * to resume, but it burns the core) or sleeps (free, but waking it costs
 * about 100 us on a VM). libgomp's default spins ~300,000 times (a few ms)
 * before sleeping: alone that is the fastest, but when busy processes share
 * the cores a spinning thread burns the time slice its partner needs to
 * reach the barrier, and the paper-shape step ran 3.5-5.8x slower next to
 * two CPU-bound processes on 2 cores (bench/RESULTS.md, "Shared machines").
 * Passive waiting (sleep at once) degrades best (1.1-1.4x) but costs 41-67%
 * alone. GOMP_SPINCOUNT=30000 (~0.4 ms of spinning) was the measured
 * compromise: 1.7-2.7x contended, 8-20% slower than the default alone on
 * that step; tiny groups do not care, as they run on one thread
 * (backend_cpu.c). Thread count is left to libgomp, whose default is the
 * CPUs this process may run on (never more threads than cores); OpenBLAS
 * runs single-threaded inside our regions (backend_cpu.c). */
#include "monolab/threads.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void ml_thread_policy(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return; /* the user's choice, or already re-executed */
    if (setenv("GOMP_SPINCOUNT", ML_SPINCOUNT, 1)) return;
    execv("/proc/self/exe", argv);
    /* No /proc (unusual): carry on with libgomp's default policy. */
    unsetenv("GOMP_SPINCOUNT");
}
