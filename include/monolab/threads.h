/* Thread and wait policy for shared machines (src/threads.c). */
#ifndef MONOLAB_THREADS_H
#define MONOLAB_THREADS_H

/* Call first thing in main. Unless the user chose a policy themselves
 * (OMP_WAIT_POLICY or GOMP_SPINCOUNT set), re-executes the program once with
 * OMP_WAIT_POLICY=PASSIVE: libgomp reads its environment when it is loaded,
 * before main, so setenv alone would be too late. */
void ml_thread_policy(char **argv);

#endif
