/* Sharded sweeps (src/shard.c): which runs shard I of N trains, where it
 * writes, and the manifest that lets `monolab merge` check it. */
#ifndef MONOLAB_SHARD_H
#define MONOLAB_SHARD_H
#include "monolab/config.h"
#include <stddef.h>

typedef struct {
    int index; /* 0 .. count-1 */
    int count; /* 0: not sharded */
} ml_shard;

/* "I/N" with 0 <= I < N, or "auto": the job array task of Slurm
 * (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT).
 * Bad input exits 2 naming it. */
void ml_shard_parse(ml_shard *s, const char *arg);

/* shard_of[i] for every run of the sweep: the planner's order (runs grouped
 * by shape, grid order within) cut into `count` contiguous pieces of equal
 * FLOP, a run going to the piece that holds the middle of its cost. A pure
 * function of the runs and count, so every shard and the merge agree. */
void ml_shard_assign(const ml_sweep_config *cfg, int count, int *shard_of);

/* OUTDIR/shards/I */
void ml_shard_dir(char *buf, size_t n, const char *outdir, int index);

/* Called by `monolab sweep --shard` once the shard's own config.yaml is in
 * place: refuses a root OUTDIR/config.yaml of another config or a shard
 * folder cut for another N, writes shard.txt, and marks skip[i] for every
 * run outside the shard. Returns the shard's number of runs. */
int ml_shard_prepare(const ml_sweep_config *cfg, const ml_shard *s, const char *root, const char *dir,
                     unsigned char *skip);

/* The text of shard.txt for shard `index` of `count` (malloc'd): its place
 * and its runs. `monolab merge` compares it with what a shard wrote. */
char *ml_shard_manifest(const ml_sweep_config *cfg, const int *shard_of, int index, int count);

/* Reads DIR/shard.txt: returns 0 and fills s, or -1 (message in why) if
 * absent or malformed. */
int ml_shard_read_manifest(const char *dir, ml_shard *s, char *why, size_t n);

#endif
