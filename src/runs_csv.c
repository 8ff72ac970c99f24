/* OUTDIR/runs.csv: the header, and which runs an existing file holds. */
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/runs_csv.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *ml_runs_csv_header(void) {
    return "run_id,seed,task,N,m,k,out,activation,bias_offset,sampling,eps,steps,batch,lr,optimizer,"
           "schedule,t_max,decay,l1,weight_decay,precision,final_loss,eval_loss,mono_neurons,"
           "mono_per_feature,mono_per_neuron,dead_neurons,bias_mono_mean,bias_poly_mean,diverged,seconds\n";
}

void ml_runs_csv_scan(const char *path, int n_runs, unsigned char *done) {
    size_t len;
    char *buf = ml_read_file(path, &len);
    if (!buf) return;
    if (len > 0 && buf[len - 1] != '\n') {
        /* A process killed mid-append leaves a torn row: drop it. */
        char *nl = strrchr(buf, '\n');
        size_t keep = nl ? (size_t)(nl - buf) + 1 : 0;
        if (truncate(path, (off_t)keep)) ml_fatal("cannot repair torn last line of '%s'", path);
        buf[keep] = 0;
        len = keep;
        fprintf(stderr, "[monolab] dropped a torn last line from %s\n", path);
    }
    if (len == 0) { free(buf); return; }
    const char *hdr = ml_runs_csv_header();
    if (strncmp(buf, hdr, strlen(hdr)))
        ml_die("%s:1: header differs from this version's columns; resume into a new -o directory", path);
    int line = 1;
    for (char *p = buf + strlen(hdr); *p; line++) {
        char *nl = strchr(p, '\n');
        if (*p != 'r') ml_die("%s:%d: expected a run id like r000012", path, line + 1);
        long idx = strtol(p + 1, NULL, 10);
        if (idx < 0 || idx >= n_runs) ml_die("%s:%d: run id %.8s is not in this config's grid", path, line + 1, p);
        done[idx] = 1;
        p = nl + 1;
    }
    free(buf);
}

/* Rows of one group, in run order, appended with one write and one fsync. */
void ml_runs_csv_append(const char *csv, const ml_group *g, const ml_train_result *res) {
    size_t cap = 1024 * (size_t)g->G, n = 0;
    char *buf = ml_malloc(cap);
    for (int gi = 0; gi < g->G; gi++) {
        const ml_run *r = g->runs[gi];
        const ml_mono_stats *s = &res->mono[gi];
        int w = snprintf(buf + n, cap - n,
                         "%s,%llu,%s,%d,%d,%d,%d,%s,%.9g,%s,%.9g,%ld,%d,%.9g,%s,%s,%d,%.9g,%.9g,%.9g,%s,"
                         "%.9g,%.9g,%d,%.9g,%.9g,%d,%.9g,%.9g,%ld,%.3f\n",
                         r->id, (unsigned long long)r->seed, ml_task_name(r->task), r->N, r->m, r->k,
                         ml_run_out_dim(r), ml_act_name(r->act), r->bias_offset, ml_sampling_name(r->sampling),
                         r->eps, r->steps, r->batch, r->lr, ml_optim_name(r->optimizer),
                         ml_sched_name(r->schedule), r->t_max, r->decay, r->l1, r->weight_decay,
                         ml_precision_name(r->precision), res->final_loss[gi], res->eval_loss[gi], s->mono_neurons,
                         s->mono_per_feature, s->mono_per_neuron, s->dead_neurons, s->bias_mono_mean,
                         s->bias_poly_mean, res->diverged[gi], res->seconds / g->G);
        if (w < 0 || (size_t)w >= cap - n) ml_fatal("internal: runs.csv row too long");
        n += (size_t)w;
    }
    ml_append_sync(csv, buf, n);
    free(buf);
}
