/* Thread and wait policy for shared machines (src/threads.c). */
#ifndef MONOLAB_THREADS_H
#define MONOLAB_THREADS_H

/* monolab's default OpenMP wait: spin this many times at a barrier, then
 * sleep (why: src/threads.c). */
#define ML_SPINCOUNT "30000"

/* Call first thing in main. Unless the user chose a policy themselves
 * (OMP_WAIT_POLICY or GOMP_SPINCOUNT set), re-executes the program once with
 * GOMP_SPINCOUNT=ML_SPINCOUNT: libgomp reads its environment when it is
 * loaded, before main, so setenv alone would be too late. */
void ml_thread_policy(char **argv);

#endif
