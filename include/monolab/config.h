/* Sweep configuration: YAML (libyaml) + key=value overrides -> validated
 * grid -> one RunSpec per run. The schema table in config.c is the single
 * source of truth for keys, types, defaults and limits. */
#ifndef MONOLAB_CONFIG_H
#define MONOLAB_CONFIG_H
#include <stdint.h>
#include <stdio.h>

typedef enum { TASK_DECODER, TASK_REPROJECTOR, TASK_ABS } ml_task;
typedef enum { ACT_RELU, ACT_GELU, ACT_SOLU } ml_act;
typedef enum { SAMPLE_UNIFORM, SAMPLE_POWER_LAW } ml_sampling;
typedef enum { OPT_LAMB, OPT_ADAM, OPT_ADAMW } ml_optim;
typedef enum { SCHED_COSINE, SCHED_CONSTANT } ml_sched;
typedef enum { PREC_FP32, PREC_TF32, PREC_BF16 } ml_precision;
typedef enum { CKPT_LOG2, CKPT_FINAL, CKPT_NONE } ml_ckpt;

/* Everything that defines one run. Fields marked (group) must be equal for
 * runs that train together; the rest are per-model arrays in a group. */
typedef struct {
    int index;          /* position in the expanded grid */
    char id[24];        /* "r000123" */
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
    int n_runs;
    ml_run *runs;
} ml_sweep_config;

/* Parse, apply overrides ("model.k=[64,128]"), validate and expand.
 * Any error exits 2 with file:line and the key. */
void ml_config_load(ml_sweep_config *cfg, const char *path, int n_over, char **overrides);
void ml_config_free(ml_sweep_config *cfg);

int ml_run_out_dim(const ml_run *r); /* N, or m for the reprojector */
const char *ml_task_name(ml_task t);
const char *ml_act_name(ml_act a);
const char *ml_sampling_name(ml_sampling s);
const char *ml_optim_name(ml_optim o);
const char *ml_sched_name(ml_sched s);
const char *ml_precision_name(ml_precision p);
const char *ml_ckpt_name(ml_ckpt c);

#endif
