/* The self-test stamp of a CUDA device (docs/architecture.md "Choosing the
 * device"): `monolab selftest --device cuda` records its verdict in the
 * user's cache folder, keyed by everything that could change the verdict:
 * this build of monolab, the GPU (name, UUID, compute capability), the
 * driver and runtime versions, and the kernel variant set
 * (MONOLAB_KERNELS). `--device auto` uses a GPU only under a passing stamp
 * for exactly that key; any change of the key makes a new, missing stamp. */
#ifndef MONOLAB_DEVICE_STAMP_H
#define MONOLAB_DEVICE_STAMP_H
#include "monolab/backend.h"
#include <stddef.h>

typedef struct {
    char build[24];     /* FNV-1a 64 of this executable's bytes, in hex */
    ml_device_id dev;
    char kernels[128];  /* MONOLAB_KERNELS, "ref" when unset */
} ml_stamp_key;

typedef enum { ML_STAMP_NONE, ML_STAMP_PASS, ML_STAMP_FAIL } ml_stamp_state;

/* The key of device 0 now; 0 when there is no usable CUDA device. */
int ml_stamp_key_now(ml_stamp_key *k);
/* $XDG_CACHE_HOME/monolab (or ~/.cache/monolab)/selftest-<hash of key>.txt;
 * 0 when neither variable gives a folder. */
int ml_stamp_path(const ml_stamp_key *k, char *buf, size_t n);
/* Where the self-test that `--device auto` runs writes its output
 * (selftest-last.log beside the stamps), the folder created; 0 without a
 * cache folder. */
int ml_stamp_log_path(const ml_stamp_key *k, char *buf, size_t n);
/* The stamp for k: its state, and (when not NONE) the date it was written
 * and its one-line summary. A stamp whose recorded key differs from k in
 * any field is NONE (a hash collision or a hand-edited file). */
ml_stamp_state ml_stamp_read(const ml_stamp_key *k, char *date, size_t date_n, char *summary, size_t summary_n);
/* Records a verdict atomically (temporary file, rename). Never fatal: a
 * cache folder that cannot be written costs a warning, not the command. */
void ml_stamp_write(const ml_stamp_key *k, int passed, const char *summary);

#endif
