/* Exclusive use of a sweep's output folder (src/outdir_lock.c). */
#ifndef MONOLAB_OUTDIR_LOCK_H
#define MONOLAB_OUTDIR_LOCK_H

/* Take an advisory flock on OUTDIR/.monolab.lock for the life of the
 * process (the kernel drops it when the process ends, however it ends).
 * Exits 2 if another sweep holds it, or if the folder cannot be written:
 * both before any training. Then removes temporary files that a killed
 * writer left (only a lock holder writes there, so none is live). */
void ml_outdir_lock(const char *outdir);

#endif
