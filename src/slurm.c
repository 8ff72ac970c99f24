/* `monolab slurm CONFIG --shards N`: writes the sbatch scripts that run a
 * sweep as a Slurm job array of N shards (each `monolab sweep --shard auto
 * --resume`) plus a merge job that waits for all of them (afterok), prints
 * how to submit them, and with --submit submits them. Slurm does the
 * scheduling; monolab only cuts the sweep (src/shard.c) and merges it
 * (src/merge.c). */
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/config.h"
#include "monolab/fsutil.h"
#include "monolab/outdir_lock.h"
#include "monolab/plan.h"
#include "monolab/shard.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* No GPU rate has been measured yet (bench/RESULTS.md). Until one is, the
 * default is the only rate `make bench` has measured: monolab's CPU step
 * on the 2-core development VM, 109.5 GFLOP/s (N=512, k=1024, G=2). On a
 * GPU that overestimates the time, which errs on the side of tasks that
 * are not killed; --tflops or --time set it. */
#define DEFAULT_TFLOPS 0.1095
#define DEFAULT_TFLOPS_SOURCE "the CPU rate measured by `make bench` (bench/RESULTS.md); no GPU rate is measured yet"

typedef struct {
    const char *config_path;
    int n_over;
    char **overrides;
    const char *outdir, *partition, *account, *time, *device;
    int shards, gpus_per_task, submit;
    double tflops;
    int tflops_given;
} slurm_opts;

/* 'text' quoted for a POSIX shell. */
static void shq(char *buf, size_t n, const char *s) {
    size_t j = 0;
    if (j < n - 1) buf[j++] = '\'';
    for (; *s && j + 5 < n; s++) {
        if (*s == '\'') memcpy(buf + j, "'\\''", 4), j += 4;
        else buf[j++] = *s;
    }
    if (j < n - 1) buf[j++] = '\'';
    buf[j] = 0;
}

/* What goes into a generated script other than shell-quoted words (above).
 * A comment: the text with control characters, newlines first, shown as
 * '?', so nothing can end the comment and start a command. */
static const char *comment_safe(char *buf, size_t n, const char *s) {
    size_t j = 0;
    for (; *s && j + 1 < n; s++) buf[j++] = (unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s;
    buf[j] = 0;
    return buf;
}

/* A job name: only letters, digits and . _ - survive (others become '_'):
 * Slurm parses #SBATCH values with its own quoting rules, and a name is
 * only a label in squeue. */
static const char *job_name(char *buf, size_t n, const char *s) {
    size_t j = 0;
    for (; *s && j + 1 < n; s++) {
        unsigned char c = (unsigned char)*s;
        buf[j++] = (c < 0x80 && isalnum(c)) || strchr("._-", c) ? (char)c : '_';
    }
    buf[j] = 0;
    return buf;
}

/* A path in an #SBATCH --output line: in double quotes for Slurm's parser
 * (\" inside), with '%' doubled so Slurm's filename patterns leave it
 * alone; the pattern itself (%A_%a, %j) is appended by the caller. A
 * newline would end the directive and a backslash turns Slurm's patterns
 * off, so a folder with either is refused by slurm_path_ok first. */
static void slurm_path(char *buf, size_t n, const char *path) {
    size_t j = 0;
    buf[j++] = '"';
    for (; *path && j + 4 < n; path++) {
        if (*path == '"') buf[j++] = '\\';
        if (*path == '%') buf[j++] = '%';
        buf[j++] = *path;
    }
    buf[j] = 0; /* the caller closes the quote after the file pattern */
}

static void slurm_path_ok(const char *out) {
    char shown[ML_PATH_MAX2];
    for (const char *c = out; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == '\\')
            ml_die("-o '%s': Slurm cannot take a log folder whose path holds a %s; pick another -o",
                   comment_safe(shown, sizeof shown, out),
                   *c == '\\' ? "backslash" : *c == '\n' ? "newline" : "control character");
}

/* --partition and --account name Slurm objects; anything outside Slurm's
 * own name characters would be a typo or an attempt to break the line. */
static const char *slurm_name(const char *opt, const char *v) {
    if (!*v || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._,-") != strlen(v))
        ml_die("%s needs a Slurm name (letters, digits, '.', '_', '-', ',' between names), got '%s'", opt, v);
    return v;
}

/* A TFLOP count for people: 0.0375, 12.5, 10980. */
static const char *tf_str(char *buf, size_t n, double tf) {
    snprintf(buf, n, tf >= 1000 ? "%.0f" : "%.4g", tf);
    return buf;
}

/* Slurm's [days-]hours:minutes:seconds. */
static void format_time(char *buf, size_t n, double seconds) {
    long s = (long)ceil(seconds);
    long d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
    if (d) snprintf(buf, n, "%ld-%02ld:%02ld:%02ld", d, h, m, sec);
    else snprintf(buf, n, "%02ld:%02ld:%02ld", h, m, sec);
}

/* Runs argv, returns its stdout (malloc'd); dies if it cannot run or fails. */
static char *capture(char *const argv[]) {
    int fd[2];
    if (pipe(fd)) ml_fatal("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) ml_fatal("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "monolab: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fd[1]);
    char *out = ml_malloc(4096);
    size_t len = 0;
    ssize_t r;
    while (len < 4095 && (r = read(fd[0], out + len, 4095 - len)) > 0) len += (size_t)r;
    out[len] = 0;
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st))
        ml_die("%s %s failed (exit %d); the scripts are written, submit them by hand", argv[0], argv[1],
               WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return out;
}

static int on_path(const char *prog) {
    const char *path = getenv("PATH");
    if (!path) return 0;
    char *dirs = ml_strdup(path), *save = NULL;
    int found = 0;
    for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
        char p[ML_PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", *d ? d : ".", prog);
        found = access(p, X_OK) == 0;
    }
    free(dirs);
    return found;
}

/* #SBATCH lines both jobs share. */
static void common_directives(ml_atomic_file *f, const slurm_opts *o) {
    if (o->partition) ml_atomic_printf(f, "#SBATCH --partition=%s\n", o->partition);
    if (o->account) ml_atomic_printf(f, "#SBATCH --account=%s\n", o->account);
}

static void write_scripts(const slurm_opts *o, const ml_sweep_config *cfg, const char *out, const char *exe,
                          const char *limit, double max_tf, double est_s) {
    /* User text reaches the scripts only as shell-quoted words (q_*), in
     * comments (c_*), as a sanitised job name, and as the Slurm-quoted log
     * folder (s_out): nothing can end a line or a quote. */
    char q_out[8400], q_exe[8400], q_cfg[8400], path[ML_PATH_MAX2], q_dev[256], tfb[64];
    char c_name[1024], c_out[ML_PATH_MAX2], jname[256], s_out[8800];
    slurm_path(s_out, sizeof s_out, out);
    comment_safe(c_name, sizeof c_name, cfg->name);
    comment_safe(c_out, sizeof c_out, out);
    job_name(jname, sizeof jname, cfg->name);
    shq(q_out, sizeof q_out, out);
    shq(q_exe, sizeof q_exe, exe);
    snprintf(path, sizeof path, "%s/config.yaml", out);
    shq(q_cfg, sizeof q_cfg, path);
    shq(q_dev, sizeof q_dev, o->device);

    ml_atomic_file f;
    snprintf(path, sizeof path, "%s/slurm/sweep.sbatch", out);
    ml_atomic_open(&f, path);
    ml_atomic_printf(&f,
                     "#!/bin/bash\n"
                     "# monolab sweep '%s' (%d runs) as a Slurm job array of %d tasks, written by\n"
                     "# `monolab slurm`. Task I trains shard I of the sweep (`--shard auto` reads\n"
                     "# SLURM_ARRAY_TASK_ID) into %s/shards/I; shards never share a file.\n"
                     "# Shards are cut from the planner's order by FLOP, so they take similar time:\n"
                     "# the largest is %s TFLOP, %.0f s at %.4g TFLOP/s (%s);\n"
                     "# the time limit below is %s.\n"
                     "# Submit with merge.sbatch as its afterok dependency (`monolab slurm` prints the line).\n"
                     "#SBATCH --job-name=monolab-%s\n"
                     "#SBATCH --array=0-%d\n"
                     "#SBATCH --ntasks=1\n"
                     "#SBATCH --time=%s\n",
                     c_name, cfg->n_runs, o->shards, c_out, tf_str(tfb, sizeof tfb, max_tf), est_s, o->tflops,
                     o->tflops_given ? "--tflops" : DEFAULT_TFLOPS_SOURCE, o->time ? "--time's" : "1.5x that plus 10 minutes",
                     jname, o->shards - 1, limit);
    if (o->gpus_per_task > 0) ml_atomic_printf(&f, "#SBATCH --gpus-per-task=%d\n", o->gpus_per_task);
    common_directives(&f, o);
    ml_atomic_printf(&f,
                     "# A preempted or requeued task starts again; --resume continues its shard\n"
                     "# from the runs it has finished, and its log is appended to.\n"
                     "#SBATCH --requeue\n"
                     "#SBATCH --open-mode=append\n"
                     "#SBATCH --output=%s/slurm/logs/sweep_%%A_%%a.out\"\n"
                     "set -eu\n"
                     "out=%s\n"
                     "# Slurm keeps a failed dependency failed: once a task was cancelled, the merge\n"
                     "# job would wait forever even after the task is requeued and succeeds. So a\n"
                     "# restarted task re-arms it on this array's tasks.\n"
                     "if [ \"${SLURM_RESTART_COUNT:-0}\" -gt 0 ] && [ -s \"$out/slurm/merge.jobid\" ]; then\n"
                     "  deps=afterok$(printf \":${SLURM_ARRAY_JOB_ID}_%%d\" $(seq 0 $((SLURM_ARRAY_TASK_COUNT - 1))))\n"
                     "  scontrol update JobId=\"$(cat \"$out/slurm/merge.jobid\")\" Dependency=\"$deps\" ||\n"
                     "    echo \"monolab: could not re-arm the merge job; run: monolab merge $out\" >&2\n"
                     "fi\n"
                     "# The GPU is checked before this task uses it: `monolab selftest` against the\n"
                     "# CPU, once per GPU, driver and build (its verdict is kept in the user's cache,\n"
                     "# and --cached reuses it), so a bad node shows in this log, not in results;\n"
                     "# --device auto keeps to the CPU on a GPU that failed.\n"
                     "if [ %s != cpu ] && nvidia-smi -L >/dev/null 2>&1; then\n"
                     "  %s selftest --quick --cached || echo \"monolab: the GPU of $(hostname) failed its self-test\" >&2\n"
                     "fi\n"
                     "exec %s sweep %s -o \"$out\" --shard auto --resume --device %s\n",
                     s_out, q_out, q_dev, q_exe, q_exe, q_cfg, q_dev);
    ml_atomic_commit(&f);

    snprintf(path, sizeof path, "%s/slurm/merge.sbatch", out);
    ml_atomic_open(&f, path);
    ml_atomic_printf(&f,
                     "#!/bin/bash\n"
                     "# Merges the %d shards of sweep.sbatch into %s (runs.csv, loss/, ckpt/),\n"
                     "# identical to a one-node run; submitted with --dependency=afterok on the array.\n"
                     "# Merging links files: minutes at most.\n"
                     "#SBATCH --job-name=monolab-merge-%s\n"
                     "#SBATCH --ntasks=1\n"
                     "#SBATCH --time=00:30:00\n",
                     o->shards, c_out, jname);
    common_directives(&f, o);
    ml_atomic_printf(&f,
                     "#SBATCH --output=%s/slurm/logs/merge_%%j.out\"\n"
                     "exec %s merge %s\n",
                     s_out, q_exe, q_out);
    ml_atomic_commit(&f);
}

static void slurm_run(const slurm_opts *o) {
    ml_sweep_config cfg;
    ml_config_load(&cfg, o->config_path, o->n_over, o->overrides);
    if (o->shards > cfg.n_runs)
        ml_die("--shards %d is more than the sweep's %d runs; use at most %d", o->shards, cfg.n_runs, cfg.n_runs);

    int *shard_of = ml_malloc(sizeof(int) * (size_t)cfg.n_runs);
    double *tf = ml_calloc((size_t)o->shards, sizeof(double));
    ml_shard_assign(&cfg, o->shards, shard_of);
    for (int i = 0; i < cfg.n_runs; i++) tf[shard_of[i]] += ml_run_train_flop(&cfg.runs[i]) / 1e12;
    double max_tf = 0, min_tf = INFINITY;
    for (int s = 0; s < o->shards; s++) {
        max_tf = tf[s] > max_tf ? tf[s] : max_tf;
        min_tf = tf[s] < min_tf ? tf[s] : min_tf;
    }
    double est = max_tf / o->tflops;
    char limit[64];
    if (o->time) snprintf(limit, sizeof limit, "%s", o->time);
    else format_time(limit, sizeof limit, ceil((1.5 * est + 600) / 60) * 60);

    /* The resolved config goes to OUTDIR/config.yaml: the tasks run from it,
     * so editing the original config later cannot change a queued sweep. */
    char path[ML_PATH_MAX2], out[PATH_MAX], exe[PATH_MAX];
    ml_outdir_refuse_shared(o->outdir);
    slurm_path_ok(o->outdir); /* before anything is written; the resolved path is checked again below */
    ml_mkdirs(o->outdir);
    if (!realpath(o->outdir, out)) ml_fatal("cannot resolve '%s': %s", o->outdir, strerror(errno));
    slurm_path_ok(out);
    ml_config_check_pin(&cfg, out, "use the same config and overrides, or another -o");
    ml_config_pin(&cfg, out);
    snprintf(path, sizeof path, "%s/slurm/logs", out);
    ml_mkdirs(path);
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) ml_fatal("cannot find this program's path: %s", strerror(errno));
    exe[len] = 0;
    write_scripts(o, &cfg, out, exe, limit, max_tf, est);

    char sweep_sh[ML_PATH_MAX2], merge_sh[ML_PATH_MAX2], jobid[ML_PATH_MAX2], q1[8400], q2[8400], q3[8400];
    snprintf(sweep_sh, sizeof sweep_sh, "%s/slurm/sweep.sbatch", out);
    snprintf(merge_sh, sizeof merge_sh, "%s/slurm/merge.sbatch", out);
    snprintf(jobid, sizeof jobid, "%s/slurm/merge.jobid", out);
    shq(q1, sizeof q1, sweep_sh);
    shq(q2, sizeof q2, merge_sh);
    shq(q3, sizeof q3, jobid);
    char lo[64], hi[64];
    printf("sweep '%s': %d runs in %d shards of %s to %s TFLOP; time limit %s per task%s\n", cfg.name, cfg.n_runs,
           o->shards, tf_str(lo, sizeof lo, min_tf), tf_str(hi, sizeof hi, max_tf), limit,
           o->time ? " (--time)" : "");
    if (!o->time && !o->tflops_given)
        printf("  (estimated at %.4g TFLOP/s, %s; set --tflops or --time)\n", o->tflops, DEFAULT_TFLOPS_SOURCE);
    printf("scripts: %s\n         %s\n", sweep_sh, merge_sh);
    printf("submit:  jid=$(sbatch --parsable %s) && sbatch --parsable --dependency=afterok:${jid%%%%;*} %s > %s\n", q1,
           q2, q3);

    if (o->submit) {
        if (!on_path("sbatch")) ml_die("--submit: sbatch is not on the PATH; submit with the line above");
        char *a[] = {"sbatch", "--parsable", sweep_sh, NULL};
        char *jid = capture(a);
        jid[strcspn(jid, ";\n")] = 0;
        char dep[256];
        snprintf(dep, sizeof dep, "--dependency=afterok:%s", jid);
        char *b[] = {"sbatch", "--parsable", dep, merge_sh, NULL};
        char *mid = capture(b);
        mid[strcspn(mid, ";\n")] = 0;
        ml_atomic_write_text(jobid, mid); /* adds the newline */
        printf("submitted: array job %s, merge job %s\n", jid, mid);
        free(jid);
        free(mid);
    }
    free(shard_of);
    free(tf);
    ml_config_free(&cfg);
}

static const char USAGE[] =
    "usage: monolab slurm CONFIG.yaml [key=value ...] --shards N [-o OUTDIR] [--partition P]\n"
    "                     [--account A] [--gpus-per-task 1] [--time [D-]HH:MM:SS] [--tflops T]\n"
    "                     [--device auto|cpu|cuda] [--submit]\n"
    "\n"
    "Writes OUTDIR/slurm/sweep.sbatch (a job array of N shards of the sweep, each\n"
    "resumable) and OUTDIR/slurm/merge.sbatch (monolab merge, after all of them),\n"
    "prints the sbatch line, and with --submit runs it. --gpus-per-task 0 asks for\n"
    "no GPU. The time limit comes from the largest shard's FLOP at --tflops.\n";

static long int_value(const char *name, const char *v, long lo, long hi) {
    char *end;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo || x > hi) ml_die("%s needs an integer in %ld..%ld, got '%s'", name, lo, hi, v);
    return x;
}

enum { OPT_OUT, OPT_SHARDS, OPT_PARTITION, OPT_ACCOUNT, OPT_GPUS, OPT_TIME, OPT_TFLOPS, OPT_DEVICE, OPT_SUBMIT };
static const ml_cli_opt OPTS[] = {
    [OPT_OUT] = {"--out", "-o", 1},          [OPT_SHARDS] = {"--shards", NULL, 1},
    [OPT_PARTITION] = {"--partition", NULL, 1}, [OPT_ACCOUNT] = {"--account", NULL, 1},
    [OPT_GPUS] = {"--gpus-per-task", NULL, 1}, [OPT_TIME] = {"--time", NULL, 1},
    [OPT_TFLOPS] = {"--tflops", NULL, 1},    [OPT_DEVICE] = {"--device", NULL, 1},
    [OPT_SUBMIT] = {"--submit", NULL, 0},    {NULL}};

int ml_slurm_main(int argc, char **argv) {
    slurm_opts o = {0};
    o.device = "auto";
    o.gpus_per_task = 1;
    o.tflops = DEFAULT_TFLOPS;
    char **over = ml_calloc((size_t)argc + 1, sizeof(char *));
    ml_cli cl = {"slurm", USAGE, OPTS, argc, argv, 0};
    char *v;
    for (int k; (k = ml_cli_next(&cl, &v)) != ML_CLI_END;) {
        switch (k) {
        case OPT_OUT: o.outdir = v; break;
        case OPT_SHARDS: o.shards = (int)int_value("--shards", v, 1, 1000000); break;
        case OPT_PARTITION: o.partition = slurm_name("--partition", v); break;
        case OPT_ACCOUNT: o.account = slurm_name("--account", v); break;
        case OPT_GPUS: o.gpus_per_task = (int)int_value("--gpus-per-task", v, 0, 64); break;
        case OPT_TIME:
            o.time = v;
            if (!*o.time || strspn(o.time, "0123456789:-") != strlen(o.time))
                ml_die("--time needs [D-]HH:MM:SS, got '%s'", o.time);
            break;
        case OPT_TFLOPS: {
            char *end;
            o.tflops = strtod(v, &end);
            if (!*v || *end || !(o.tflops > 0) || !isfinite(o.tflops))
                ml_die("--tflops needs a positive rate in TFLOP/s, got '%s'", v);
            o.tflops_given = 1;
            break;
        }
        case OPT_DEVICE:
            o.device = v;
            if (strcmp(o.device, "auto") && strcmp(o.device, "cpu") && strcmp(o.device, "cuda"))
                ml_die("--device needs auto, cpu or cuda, got '%s'", o.device);
            break;
        case OPT_SUBMIT: o.submit = 1; break;
        default: ml_cli_config_arg("slurm", v, &o.config_path, over, &o.n_over);
        }
    }
    if (!o.config_path) ml_cli_usage_die("slurm", "missing CONFIG.yaml", NULL);
    if (!o.shards) ml_die("slurm: --shards N is required (the number of array tasks)");
    o.overrides = over;
    char defdir[ML_DIR_MAX];
    if (!o.outdir) {
        ml_default_outdir(defdir, sizeof defdir, "", o.config_path);
        o.outdir = defdir;
    }
    slurm_run(&o);
    free(over);
    return 0;
}
