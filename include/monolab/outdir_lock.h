/* Exclusive use of an output folder (src/outdir_lock.c). */
#ifndef MONOLAB_OUTDIR_LOCK_H
#define MONOLAB_OUTDIR_LOCK_H

/* Exit 2 if OUTDIR is the filesystem root or the user's home folder:
 * monolab fills its output folder and replaces files there. */
void ml_outdir_refuse_shared(const char *outdir);

/* flock the lock file PATH (created if absent, never through a symlink)
 * for the life of the process; exit 2 naming FOLDER if another holds it. */
void ml_lock_path(const char *path, const char *folder);

/* Take an advisory flock on OUTDIR/.monolab.lock for the life of the
 * process (the kernel drops it when the process ends, however it ends).
 * ml_outdir_refuse_shared first.
 * Exits 2 if another command (sweep, embed, sae, merge) holds it, or if the folder cannot be written:
 * both before any training. Then removes temporary files that a killed
 * writer left (only a lock holder writes there, so none is live). */
void ml_outdir_lock(const char *outdir);
/* mkdir -p OUTDIR, then ml_outdir_lock: what embed and sae do first. */
void ml_outdir_claim(const char *outdir);

#endif
