/* Sharded sweeps: the slice of the sweep that shard I of N trains, and its
 * folder OUTDIR/shards/I with a manifest (shard.txt) beside the usual
 * contract (config.yaml, runs.csv, loss/, ckpt/). Shards never write the
 * same file; `monolab merge` (src/merge.c) combines them. */
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/plan.h"
#include "monolab/shard.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_int(const char *s, long *out) {
    char *end;
    if (!*s) return -1;
    *out = strtol(s, &end, 10);
    return *end ? -1 : 0;
}

void ml_shard_parse(ml_shard *s, const char *arg) {
    long i, n, lo = 0;
    if (!strcmp(arg, "auto")) {
        const char *id = getenv("SLURM_ARRAY_TASK_ID"), *cnt = getenv("SLURM_ARRAY_TASK_COUNT");
        const char *min = getenv("SLURM_ARRAY_TASK_MIN"), *step = getenv("SLURM_ARRAY_TASK_STEP");
        if (!id || !cnt)
            ml_die("--shard auto needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT, which Slurm sets in a job "
                   "array task; outside one, use --shard I/N");
        if (parse_int(id, &i) || parse_int(cnt, &n) || (min && parse_int(min, &lo)))
            ml_die("--shard auto: SLURM_ARRAY_TASK_ID='%s', SLURM_ARRAY_TASK_COUNT='%s' are not integers", id, cnt);
        /* Array indices must be consecutive (e.g. --array=0-7 or 1-8), so
         * that ID - MIN runs over 0..COUNT-1. */
        if (step && strcmp(step, "1"))
            ml_die("--shard auto: the job array has step %s; use consecutive indices such as --array=0-%ld", step,
                   n - 1);
        i -= lo;
    } else {
        const char *slash = strchr(arg, '/');
        char head[32];
        if (!slash || (size_t)(slash - arg) >= sizeof head)
            ml_die("--shard needs I/N (0 <= I < N) or auto, got '%s'", arg);
        memcpy(head, arg, (size_t)(slash - arg));
        head[slash - arg] = 0;
        if (parse_int(head, &i) || parse_int(slash + 1, &n))
            ml_die("--shard needs I/N (0 <= I < N) or auto, got '%s'", arg);
    }
    if (n < 1 || n > 1000000 || i < 0 || i >= n)
        ml_die("--shard %s: the shard index must be in 0..N-1 and N >= 1 (got %ld of %ld)", arg, i, n);
    s->index = (int)i;
    s->count = (int)n;
}

void ml_shard_assign(const ml_sweep_config *cfg, int count, int *shard_of) {
    int n = cfg->n_runs;
    const ml_run **all = ml_malloc(sizeof *all * (size_t)(n ? n : 1));
    const ml_run **order = ml_malloc(sizeof *order * (size_t)(n ? n : 1));
    int *starts = ml_malloc(sizeof(int) * ((size_t)n + 1));
    for (int i = 0; i < n; i++) all[i] = &cfg->runs[i];
    /* The order does not depend on the memory budget (it only cuts groups
     * into pieces), so an unbounded one gives the order every machine
     * would use. */
    ml_plan_groups(all, n, SIZE_MAX, n ? n : 1, order, starts);
    double total = 0, before = 0;
    for (int p = 0; p < n; p++) total += ml_run_train_flop(order[p]);
    for (int p = 0; p < n; p++) {
        double c = ml_run_train_flop(order[p]);
        int s = total > 0 ? (int)((before + 0.5 * c) / total * count) : 0;
        shard_of[order[p]->index] = s < count ? s : count - 1;
        before += c;
    }
    free(all);
    free(order);
    free(starts);
}

void ml_shard_dir(char *buf, size_t n, const char *outdir, int index) {
    snprintf(buf, n, "%s/shards/%d", outdir, index);
}

char *ml_shard_manifest(const ml_sweep_config *cfg, const int *shard_of, int index, int count) {
    size_t cap = 256 + 16 * (size_t)cfg->n_runs, len = 0;
    char *buf = ml_malloc(cap);
    double flop = 0;
    int n = 0;
    for (int i = 0; i < cfg->n_runs; i++)
        if (shard_of[i] == index) flop += ml_run_train_flop(&cfg->runs[i]), n++;
    len += (size_t)snprintf(buf + len, cap - len,
                            "# monolab shard: written by `monolab sweep --shard`, checked by `monolab merge`\n"
                            "shard: %d/%d\nruns: %d\ntflop: %.6g\n",
                            index, count, n, flop / 1e12);
    for (int i = 0; i < cfg->n_runs; i++)
        if (shard_of[i] == index) len += (size_t)snprintf(buf + len, cap - len, "%s\n", cfg->runs[i].id);
    return buf;
}

int ml_shard_read_manifest(const char *dir, ml_shard *s, char *why, size_t n) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/shard.txt", dir);
    char *text = ml_read_file(path, NULL);
    if (!text) {
        snprintf(why, n, "has no shard.txt (it never started)");
        return -1;
    }
    const char *p = strstr(text, "\nshard: ");
    int ok = p && sscanf(p, "\nshard: %d/%d", &s->index, &s->count) == 2 && s->count >= 1 && s->index >= 0 &&
             s->index < s->count;
    free(text);
    if (!ok) snprintf(why, n, "has a malformed shard.txt");
    return ok ? 0 : -1;
}

int ml_shard_prepare(const ml_sweep_config *cfg, const ml_shard *s, const char *root, const char *dir,
                     unsigned char *skip) {
    char path[ML_PATH_MAX];
    ml_config_check_pin(cfg, root, "use the same config and overrides for every shard, or another -o");
    int *shard_of = ml_malloc(sizeof(int) * (size_t)(cfg->n_runs ? cfg->n_runs : 1));
    ml_shard_assign(cfg, s->count, shard_of);
    char *text = ml_shard_manifest(cfg, shard_of, s->index, s->count);
    snprintf(path, sizeof path, "%s/shard.txt", dir);
    char *old = ml_read_file(path, NULL);
    if (old && strcmp(old, text)) {
        ml_shard prev = {0, 0};
        char why[64];
        if (ml_shard_read_manifest(dir, &prev, why, sizeof why) == 0 && prev.count != s->count)
            ml_die("%s: this folder holds shard %d/%d; it cannot resume as shard %d/%d (use the same N, or another -o)",
                   path, prev.index, prev.count, s->index, s->count);
        ml_die("%s lists other runs than shard %d/%d of this config; use another -o", path, s->index, s->count);
    }
    if (!old) {
        ml_atomic_file f;
        ml_atomic_open(&f, path);
        ml_atomic_write(&f, text, strlen(text));
        ml_atomic_commit(&f);
    }
    int n = 0;
    for (int i = 0; i < cfg->n_runs; i++) {
        skip[i] = shard_of[i] != s->index;
        n += !skip[i];
    }
    free(old);
    free(text);
    free(shard_of);
    return n;
}
