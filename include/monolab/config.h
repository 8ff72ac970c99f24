/* Sweep configuration: YAML (libyaml) + key=value overrides -> validated
 * grid -> one RunSpec per run. The schema table in config.c is the single
 * source of truth for keys, types, defaults and limits. */
#ifndef MONOLAB_CONFIG_H
#define MONOLAB_CONFIG_H
#include "monolab/vocab.h"
#include <stddef.h>
#include <stdint.h>

/* Everything that defines one run. Fields marked (group) must be equal for
 * runs that train together; the rest are per-model arrays in a group. */
typedef struct {
    int index;          /* position in the expanded grid */
    char id[24];        /* "r" + 12 hex digits of the settings (run_ids.h); older folders: "r000123" */
    uint64_t seed;
    ml_task task;       /* (group) */
    int N, m, k;        /* (group) */
    ml_act act;         /* (group) */
    double bias_offset;
    ml_sampling sampling; /* (group) */
    double eps;
    long steps;         /* (group) */
    int batch;          /* (group) resolved; "auto" -> 2^(23-ceil(log2 k)) */
    double lr;
    ml_optim optimizer; /* (group) */
    ml_sched schedule;  /* (group) */
    int t_max;          /* (group) */
    double decay;
    double l1;
    double weight_decay;/* (group) AdamW only */
    ml_precision precision; /* (group) */
    int log_every;      /* (group) */
    int eval_batch;     /* (group) */
    ml_ckpt checkpoints;/* (group) */
} ml_run;

typedef struct {
    char *name;
    char *resolved_yaml; /* canonical text written to OUTDIR/config.yaml */
    char *axes;          /* "model.k (2) x [model.bias_offset, train.decay] zipped (2) x seeds (2)" */
    int n_runs;
    ml_run *runs;
    struct ml_run_index *ids; /* the runs by id (run_ids.h) */
} ml_sweep_config;

/* Parse, apply overrides ("model.k=[64,128]"), validate and expand.
 * Any error exits 2 with file:line and the key. */
void ml_config_load(ml_sweep_config *cfg, const char *path, int n_over, char **overrides);
void ml_config_free(ml_sweep_config *cfg);
/* DIR/config.yaml pins the sweep that writes into DIR (sweep, shard, slurm):
 * ml_config_check_pin dies (exit 2, "DIR/config.yaml holds a different
 * resolved config; ADVICE") when it holds another resolved config, and
 * ml_config_pin writes it atomically. */
void ml_config_check_pin(const ml_sweep_config *cfg, const char *dir, const char *advice);
/* --resume into DIR: 0 when DIR/config.yaml is absent or cfg's; 1 (said on
 * stderr) when cfg grows it, i.e. cfg's grid holds every run of the
 * pinned one; otherwise dies like ml_config_check_pin. Each refusal names
 * every key whose value differs: "(model.k: [8, 16] there, [8] here)". */
int ml_config_grows(const ml_sweep_config *cfg, const char *dir, const char *advice);
/* "train.lr: 0.01 there, 0.02 here; ..." for two resolved configs (malloc'd). */
char *ml_config_differences(const char *there, const char *here);
void ml_config_pin(const ml_sweep_config *cfg, const char *dir);

int ml_run_out_dim(const ml_run *r); /* N, or m for the reprojector */

/* One table of ml_run's fields drives the config schema, the columns of
 * runs.csv, the checkpoint metadata and the hyperparameters `monolab plot`
 * may find swept. Its order is the order of all four. */
typedef enum { RF_SEED, RF_INT, RF_LONG, RF_DOUBLE, RF_ENUM, RF_BATCH, RF_OUT } ml_rf_kind;
enum { ML_RF_CSV = 1, ML_RF_META = 2, ML_RF_PLOT = 4 };
typedef struct {
    const char *name;          /* runs.csv column and checkpoint metadata key */
    const char *path;          /* dotted config key; NULL: not a config key */
    ml_rf_kind kind;           /* RF_BATCH: an int or "auto"; RF_OUT: derived */
    size_t off;                /* into ml_run */
    const char *const *names;  /* RF_ENUM: vocab.h's names */
    const char *def;           /* config default, as YAML text */
    double lo, hi;             /* allowed range, inclusive unless lo_open */
    int lo_open;
    unsigned where;            /* ML_RF_* */
    int log_axis;              /* plotted on a log axis */
} ml_run_field;

#define ML_N_RUN_FIELDS 23
extern const ml_run_field ML_RUN_FIELDS[ML_N_RUN_FIELDS];
/* The field's value in r as text, as runs.csv and the metadata hold it. */
void ml_run_field_format(const ml_run *r, const ml_run_field *f, char *buf, size_t n);

#endif
