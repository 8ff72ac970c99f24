/* OUTDIR/runs.csv: the header, and which runs an existing file holds. */
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/runs_csv.h"
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
