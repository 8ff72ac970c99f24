/* Run ids (src/run_ids.c). A run's id is "r" and 12 hex digits of a hash of
 * its settings (every config key's resolved value and the seed), so it
 * names the experiment, not a position: a run keeps its id when its sweep
 * grows, and two sweeps' runs share an id only when every setting is the
 * same. Folders written before these ids hold positional ids ("r000012");
 * their rows are found by their settings columns and keep their ids. */
#ifndef MONOLAB_RUN_IDS_H
#define MONOLAB_RUN_IDS_H
#include "monolab/config.h"
#include <stddef.h>

/* r->id from r's settings. */
void ml_run_id_make(ml_run *r);

/* cfg's runs, found by id. */
typedef struct ml_run_index ml_run_index;
ml_run_index *ml_run_index_new(const ml_sweep_config *cfg);
void ml_run_index_free(ml_run_index *ix);
/* The run with this id (len characters), or -1. */
int ml_run_index_find(const ml_run_index *ix, const char *id, size_t len);
/* Dies (exit 2, naming path and the settings) if two runs of cfg share an
 * id: a value listed twice in one key or in seeds. */
void ml_run_index_check_unique(const ml_run_index *ix, const ml_sweep_config *cfg, const char *path);

/* The run of cfg that a runs.csv row (its text up to the newline) names,
 * or -1: by its id (cfg->ids), or for a positional id ("r000012") by the
 * row's settings columns; that run then takes the row's id (in
 * cfg->runs, which a const cfg leaves writable), so its files keep their
 * names. */
int ml_run_of_row(const ml_sweep_config *cfg, const char *row);

#endif
