/* Why passive waiting: libgomp's default is to spin ~300,000 iterations at
 * every barrier before sleeping. Alone on a machine that costs nothing, but
 * when another busy process shares the cores, a spinning thread burns the
 * time slice its partner needs to reach the barrier: a tiny sweep ran 30x
 * slower with two CPU-bound neighbours on 2 cores (bench/RESULTS.md,
 * "Shared machines"). Passive waiting sleeps at once; uncontended cost is
 * within noise for monolab's step sizes (same section). Thread count is left
 * to libgomp, whose default is the CPUs this process may run on (never more
 * threads than cores); OpenBLAS runs single-threaded inside our regions
 * (backend_cpu.c). */
#include "monolab/threads.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void ml_thread_policy(char **argv) {
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT")) return; /* the user's choice, or already re-executed */
    if (setenv("OMP_WAIT_POLICY", "PASSIVE", 1)) return;
    execv("/proc/self/exe", argv);
    /* No /proc (unusual): carry on with libgomp's default policy. */
    unsetenv("OMP_WAIT_POLICY");
}
