/* A folder of outputs built whole beside its target, then swapped in
 * (src/dir_swap.c): a killed build leaves the target as it was, and a
 * rebuild leaves nothing of the previous one (the explorer site, plot's
 * figures). */
#ifndef MONOLAB_DIR_SWAP_H
#define MONOLAB_DIR_SWAP_H
#include <stddef.h>

/* Locks TARGET for this process (a hidden .<name>.lock beside it), removes
 * what a killed build left, and creates the empty build folder (a hidden
 * .<name>.partial beside TARGET), whose path goes to build. Should this
 * process exit before the commit (ml_die), the build folder is removed. */
void ml_dir_build_begin(const char *target, char *build, size_t n);
/* Puts build in TARGET's place in one step and removes the old TARGET. */
void ml_dir_build_commit(const char *build, const char *target);

#endif
