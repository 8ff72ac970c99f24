/* The one vocabulary of monolab: the enums of a run's kinds (task,
 * activation, sampler, optimiser, schedule, precision, checkpoint policy)
 * and their names, the words used by configs, runs.csv, checkpoint
 * metadata and every command line (src/vocab.c). Plain C, so the CUDA
 * kernels include it too and compare against the same names. */
#ifndef MONOLAB_VOCAB_H
#define MONOLAB_VOCAB_H

typedef enum { TASK_DECODER, TASK_REPROJECTOR, TASK_ABS } ml_task;
/* Training supports RELU, GELU (exact erf form) and SOLU (z * exp(z)). A
 * layer read by `monolab embed` may also be NONE (its activations are the
 * pre-activations) or GELU_NEW (GPT-2's tanh approximation). */
typedef enum { ACT_NONE = -1, ACT_RELU, ACT_GELU, ACT_SOLU, ACT_GELU_NEW } ml_act;
typedef enum { SAMPLE_UNIFORM, SAMPLE_POWER_LAW } ml_sampling;
typedef enum { OPT_LAMB, OPT_ADAM, OPT_ADAMW } ml_optim;
typedef enum { SCHED_COSINE, SCHED_CONSTANT } ml_sched;
typedef enum { PREC_FP32, PREC_TF32, PREC_BF16 } ml_precision;
typedef enum { CKPT_LOG2, CKPT_FINAL, CKPT_NONE } ml_ckpt;
/* `monolab embed --probe` on toy checkpoints: the inputs whose examples are
 * clustered (docs/science.md §3): the training distribution, or exactly one
 * or two active features per input. */
typedef enum { PROBE_TRAINING, PROBE_SINGLE, PROBE_PAIR } ml_probe;

/* Names in enum order, NULL-terminated. ML_ACT_NAMES holds the trainable
 * activations (relu, gelu, solu); ML_LAYER_ACT_NAMES all five, in the
 * order ACT_NONE, ACT_RELU, ... (index = value + 1). */
extern const char *const ML_TASK_NAMES[];
extern const char *const ML_ACT_NAMES[];
extern const char *const ML_LAYER_ACT_NAMES[];
extern const char *const ML_SAMPLING_NAMES[];
extern const char *const ML_OPTIM_NAMES[];
extern const char *const ML_SCHED_NAMES[];
extern const char *const ML_PRECISION_NAMES[];
extern const char *const ML_CKPT_NAMES[];
extern const char *const ML_PROBE_NAMES[];

/* Index of s in names, or -1 if it is not one of them. */
int ml_enum_parse(const char *const *names, const char *s);
/* "a | b | c", for error messages. */
void ml_enum_list(const char *const *names, const char *sep, char *buf, unsigned long n);

const char *ml_task_name(ml_task t);
const char *ml_act_name(ml_act a);
const char *ml_sampling_name(ml_sampling s);
const char *ml_optim_name(ml_optim o);
const char *ml_sched_name(ml_sched s);
const char *ml_precision_name(ml_precision p);
const char *ml_ckpt_name(ml_ckpt c);
const char *ml_probe_name(ml_probe p);

#endif
