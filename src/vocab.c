/* The names of every enum in vocab.h, and the one parser for them. */
#include "monolab/vocab.h"
#include <string.h>

const char *const ML_TASK_NAMES[] = {"decoder", "reprojector", "abs", NULL};
const char *const ML_ACT_NAMES[] = {"relu", "gelu", "solu", NULL};
const char *const ML_LAYER_ACT_NAMES[] = {"none", "relu", "gelu", "solu", "gelu_new", NULL};
const char *const ML_SAMPLING_NAMES[] = {"uniform", "power_law", NULL};
const char *const ML_OPTIM_NAMES[] = {"lamb", "adam", "adamw", NULL};
const char *const ML_SCHED_NAMES[] = {"cosine", "constant", NULL};
const char *const ML_PRECISION_NAMES[] = {"fp32", "tf32", "bf16", NULL};
const char *const ML_CKPT_NAMES[] = {"log2", "final", "none", NULL};
const char *const ML_PROBE_NAMES[] = {"training", "single", "pair", NULL};

int ml_enum_parse(const char *const *names, const char *s) {
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], s)) return i;
    return -1;
}

void ml_enum_list(const char *const *names, const char *sep, char *buf, unsigned long n) {
    buf[0] = 0;
    for (int i = 0; names[i]; i++) {
        strncat(buf, i ? sep : "", n - strlen(buf) - 1);
        strncat(buf, names[i], n - strlen(buf) - 1);
    }
}

const char *ml_task_name(ml_task t) { return ML_TASK_NAMES[t]; }
const char *ml_act_name(ml_act a) { return ML_LAYER_ACT_NAMES[a + 1]; }
const char *ml_sampling_name(ml_sampling s) { return ML_SAMPLING_NAMES[s]; }
const char *ml_optim_name(ml_optim o) { return ML_OPTIM_NAMES[o]; }
const char *ml_sched_name(ml_sched s) { return ML_SCHED_NAMES[s]; }
const char *ml_precision_name(ml_precision p) { return ML_PRECISION_NAMES[p]; }
const char *ml_ckpt_name(ml_ckpt c) { return ML_CKPT_NAMES[c]; }
const char *ml_probe_name(ml_probe p) { return ML_PROBE_NAMES[p]; }
