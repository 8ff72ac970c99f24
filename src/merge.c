/* `monolab merge OUTDIR`: combines the shards in OUTDIR/shards/ into
 * OUTDIR's runs.csv, loss/ and ckpt/, as if one node had run the sweep.
 *
 * Everything is checked before anything is written: every shard 0..N-1
 * present, all cut from one config and one N, each with all of its runs.
 * Otherwise it names the shards and writes nothing, so it can simply run
 * again once more shards finish. Shards are only read (a running shard's
 * torn last row is ignored, not repaired). Loss logs and checkpoints are
 * hard links (copies across file systems), each put in place atomically;
 * runs.csv comes last, so a merged runs.csv means the files are there. */
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/config.h"
#include "monolab/fsutil.h"
#include "monolab/run_ids.h"
#include "monolab/runs_csv.h"
#include "monolab/shard.h"
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Problems found so far, joined into the one line merge refuses with. */
typedef struct {
    char text[4096];
    int n;
} problems;

static void problem(problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(problems *p, const char *fmt, ...) {
    size_t len = strlen(p->text);
    if (p->n++ && len + 2 < sizeof p->text) strcat(p->text, "; "), len += 2;
    va_list ap;
    va_start(ap, fmt);
    if (len < sizeof p->text) vsnprintf(p->text + len, sizeof p->text - len, fmt, ap);
    va_end(ap);
}

/* Shard index of every numeric entry of OUTDIR/shards; returns the largest
 * number found plus one (0 when none). present[] has room for `cap`. */
static int list_shards(const char *shards, unsigned char *present, int cap) {
    DIR *d = opendir(shards);
    if (!d) ml_die("%s: no shards to merge (run `monolab sweep CONFIG --shard I/N -o OUTDIR` first)", shards);
    int top = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long i = strtol(e->d_name, &end, 10);
        if (!e->d_name[0] || *end || i < 0 || i >= cap) continue;
        present[i] = 1;
        if (i + 1 > top) top = (int)i + 1;
    }
    closedir(d);
    return top;
}

/* Complete rows of shard `shard`'s runs.csv (in buf), by run index:
 * pointers into buf. Returns how many of its runs have a row. */
static int read_rows(const char *path, const char *buf, const int *shard_of, ml_sweep_config *cfg,
                     const ml_run_index *ix, int shard, const char **row, int *row_len, problems *p) {
    const char *hdr = ml_runs_csv_header();
    if (strncmp(buf, hdr, strlen(hdr))) {
        problem(p, "shard %d: %s has other columns than this version's", shard, path);
        return 0;
    }
    int n = 0;
    for (const char *s = buf + strlen(hdr); *s;) {
        const char *nl = strchr(s, '\n');
        if (!nl) break; /* a row being appended right now */
        long idx = ml_run_of_row(cfg, ix, s); /* (an older shard's positional id keeps its name) */
        if (idx < 0) {
            problem(p, "shard %d: %s has a row '%.13s' that is not a run of this config", shard, path, s);
            return n;
        }
        if (shard_of[idx] != shard) {
            problem(p, "shard %d has run %.13s, which belongs to shard %d", shard, s, shard_of[idx]);
            return n;
        }
        if (!row[idx]) n++; /* (a shard never writes a run twice; keep the first if it did) */
        if (!row[idx]) row[idx] = s, row_len[idx] = (int)(nl - s + 1);
        s = nl + 1;
    }
    return n;
}

/* dst becomes the same file as src: a hard link, or an atomic copy where
 * links cannot be made. */
static void place(const char *src, const char *dst) {
    struct stat a, b;
    if (stat(src, &a)) ml_fatal("cannot read '%s': %s", src, strerror(errno));
    if (!stat(dst, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev) return;
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.merge%d", dst, (int)getpid());
    unlink(tmp);
    if (!link(src, tmp)) {
        if (rename(tmp, dst)) ml_fatal("cannot rename '%s' to '%s': %s", tmp, dst, strerror(errno));
        return;
    }
    size_t len;
    char *data = ml_read_file(src, &len);
    if (!data) ml_fatal("cannot read '%s': %s", src, strerror(errno));
    ml_atomic_file f;
    ml_atomic_open(&f, dst);
    ml_atomic_write(&f, data, len);
    ml_atomic_commit(&f);
    free(data);
}

/* Every file of one run's checkpoint folder. */
static void place_dir(const char *src, const char *dst) {
    DIR *d = opendir(src);
    if (!d) return;
    ml_mkdirs(dst);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || strstr(e->d_name, ".tmp")) continue; /* hidden, or a write in progress */
        char s[4700], t[4700];
        snprintf(s, sizeof s, "%s/%s", src, e->d_name);
        snprintf(t, sizeof t, "%s/%s", dst, e->d_name);
        place(s, t);
    }
    closedir(d);
}

static void merge(const char *outdir) {
    char shards[4200], path[4400];
    snprintf(shards, sizeof shards, "%s/shards", outdir);
    enum { MAX_SHARDS = 1000000 };
    unsigned char *present = ml_calloc(MAX_SHARDS, 1);
    int top = list_shards(shards, present, MAX_SHARDS);
    if (!top) ml_die("%s: no shard folders (0, 1, ...) to merge", shards);

    /* N, and the config, from the shards themselves. */
    /* The first shard with a manifest and a config sets N and the config;
     * a shard that disagrees is named, and all the others still checked. */
    problems pr = {{0}, 0};
    int count = 0, first = -1;
    char *config = NULL;
    unsigned char *bad = ml_calloc((size_t)top, 1);
    for (int i = 0; i < top; i++) {
        if (!present[i]) continue;
        char dir[4300], why[128];
        ml_shard_dir(dir, sizeof dir, outdir, i);
        ml_shard s;
        int before = pr.n;
        snprintf(path, sizeof path, "%s/config.yaml", dir);
        char *c = ml_read_file(path, NULL);
        if (ml_shard_read_manifest(dir, &s, why, sizeof why)) problem(&pr, "shard %d %s", i, why);
        else if (!c) problem(&pr, "shard %d has no config.yaml", i);
        else if (!count) count = s.count, first = i, config = c, c = NULL;
        else {
            if (s.count != count)
                problem(&pr, "shard %d was cut for %d shards, shard %d for %d", i, s.count, first, count);
            if (strcmp(c, config))
                problem(&pr, "shard %d is from a different config than shard %d (%s)", i, first,
                        ml_config_differences(config, c));
        }
        if (pr.n == before && s.index != i)
            problem(&pr, "shard %d: its shard.txt says it is shard %d/%d", i, s.index, s.count);
        bad[i] = pr.n > before;
        free(c);
    }
    if (!count)
        ml_die("merge %s: %s; nothing merged", outdir, pr.n ? pr.text : "no shard has a shard.txt");
    for (int i = count; i < top; i++)
        if (present[i]) problem(&pr, "shard %d is beyond the %d shards of the others", i, count);
    snprintf(path, sizeof path, "%s/config.yaml", outdir);
    char *rootcfg = ml_read_file(path, NULL);
    if (rootcfg && strcmp(rootcfg, config))
        problem(&pr, "%s differs from the shards' config (%s)", path, ml_config_differences(config, rootcfg));
    free(rootcfg);

    ml_sweep_config cfg;
    char cfgpath[4300];
    ml_shard_dir(cfgpath, sizeof cfgpath - 16, outdir, first);
    strcat(cfgpath, "/config.yaml");
    ml_config_load(&cfg, cfgpath, 0, NULL);
    int n = cfg.n_runs;
    int *shard_of = ml_malloc(sizeof(int) * (size_t)(n ? n : 1));
    ml_shard_assign(&cfg, count, shard_of);

    const char **row = ml_calloc((size_t)n + 1, sizeof *row);
    int *row_len = ml_calloc((size_t)n + 1, sizeof(int));
    char **bufs = ml_calloc((size_t)count, sizeof *bufs);
    ml_run_index *ids = ml_run_index_new(&cfg);
    for (int i = 0; i < count; i++) {
        char dir[4300];
        ml_shard_dir(dir, sizeof dir, outdir, i);
        if (i >= top || !present[i]) {
            problem(&pr, "shard %d is missing", i);
            continue;
        }
        if (bad[i]) continue; /* named above */
        snprintf(path, sizeof path, "%s/shard.txt", dir);
        char *have = ml_read_file(path, NULL), *want = ml_shard_manifest(&cfg, shard_of, i, count);
        int same = have && !strcmp(have, want);
        free(have);
        free(want);
        if (!same) {
            problem(&pr, "shard %d lists other runs than shard %d/%d of this config", i, i, count);
            continue;
        }
        int mine = 0, done = 0;
        for (int r = 0; r < n; r++) mine += shard_of[r] == i;
        snprintf(path, sizeof path, "%s/runs.csv", dir);
        bufs[i] = ml_read_file(path, NULL);
        if (bufs[i]) done = read_rows(path, bufs[i], shard_of, &cfg, ids, i, row, row_len, &pr);
        if (done < mine) problem(&pr, "shard %d is incomplete (%d of %d runs done)", i, done, mine);
    }
    if (pr.n) ml_die("merge %s: %s; nothing merged", outdir, pr.text);

    /* All there: the files first, runs.csv last. */
    ml_atomic_file f;
    snprintf(path, sizeof path, "%s/config.yaml", outdir);
    ml_atomic_open(&f, path);
    ml_atomic_write(&f, config, strlen(config));
    ml_atomic_commit(&f);
    char dst[4400];
    snprintf(dst, sizeof dst, "%s/loss", outdir);
    ml_mkdirs(dst);
    int n_ckpt = 0;
    for (int r = 0; r < n; r++) {
        char dir[4300], src[4400];
        ml_shard_dir(dir, sizeof dir, outdir, shard_of[r]);
        snprintf(src, sizeof src, "%s/loss/%s.csv", dir, cfg.runs[r].id);
        snprintf(dst, sizeof dst, "%s/loss/%s.csv", outdir, cfg.runs[r].id);
        if (ml_file_exists(src)) place(src, dst);
        snprintf(src, sizeof src, "%s/ckpt/%s", dir, cfg.runs[r].id);
        snprintf(dst, sizeof dst, "%s/ckpt/%s", outdir, cfg.runs[r].id);
        if (ml_file_exists(src)) place_dir(src, dst), n_ckpt++;
    }
    snprintf(path, sizeof path, "%s/runs.csv", outdir);
    ml_atomic_open(&f, path);
    ml_atomic_write(&f, ml_runs_csv_header(), strlen(ml_runs_csv_header()));
    for (int r = 0; r < n; r++) ml_atomic_write(&f, row[r], (size_t)row_len[r]); /* grid order */
    ml_atomic_commit(&f);
    fprintf(stderr, "[monolab] merged %d shards: %d runs (%d with checkpoints) -> %s\n", count, n, n_ckpt, path);

    for (int i = 0; i < count; i++) free(bufs[i]);
    free(bufs);
    ml_run_index_free(ids);
    free(row);
    free(row_len);
    free(shard_of);
    free(present);
    free(bad);
    free(config);
    ml_config_free(&cfg);
}

static const char USAGE[] =
    "usage: monolab merge OUTDIR\n"
    "\n"
    "Combines the shards of a sharded sweep (OUTDIR/shards/0..N-1, written by\n"
    "`monolab sweep --shard I/N -o OUTDIR`) into OUTDIR/runs.csv, loss/ and ckpt/,\n"
    "identical to a one-node run of the same config (rows in grid order) apart\n"
    "from the seconds column. Refuses, naming them, shards that are missing,\n"
    "incomplete or from another config, and then writes nothing; run it again\n"
    "once they finish.\n";

int ml_merge_main(int argc, char **argv) {
    const char *outdir = NULL;
    static const ml_cli_opt none[] = {{NULL}};
    ml_cli cl = {"merge", USAGE, none, argc, argv, 0};
    for (char *v; ml_cli_next(&cl, &v) != ML_CLI_END;) {
        if (outdir) ml_die("merge: one OUTDIR only (got '%s' and '%s')", outdir, v);
        outdir = v;
    }
    if (!outdir) ml_die("merge: missing OUTDIR (see monolab merge --help)");
    merge(outdir);
    return 0;
}
