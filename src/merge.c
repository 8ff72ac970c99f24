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
#include "monolab/outdir_lock.h"
#include "monolab/run_outputs.h"
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
 * pointers into buf. Returns how many of its runs have a row. A damaged
 * row, or one trained with another config, is not copied: the first is
 * named in why ("PATH:LINE: ..."; empty when all are sound). */
static int read_rows(const char *path, const char *buf, const ml_sweep_config *cfg, const int *shard_of, int shard,
                     const char **row, int *row_len, char *why, size_t why_n) {
    const char *hdr = ml_runs_csv_header();
    why[0] = 0;
    if (strncmp(buf, hdr, strlen(hdr))) {
        snprintf(why, why_n, "%s has other columns than this version's", path);
        return 0;
    }
    int n = 0, line = 2;
    char bad[256];
    for (const char *s = buf + strlen(hdr); *s; line++) {
        const char *nl = strchr(s, '\n');
        if (!nl) break; /* a row being appended right now */
        int idx = ml_runs_csv_row(cfg, s, (size_t)(nl - s), bad, sizeof bad);
        if (idx < 0) {
            snprintf(why, why_n, "%s:%d: %s", path, line, bad);
            return n;
        }
        if (shard_of[idx] != shard) {
            snprintf(why, why_n, "%s:%d: run %s belongs to shard %d", path, line, cfg->runs[idx].id, shard_of[idx]);
            return n;
        }
        if (!row[idx]) n++; /* (a shard never writes a run twice; keep the first if it did) */
        if (!row[idx]) row[idx] = s, row_len[idx] = (int)(nl - s + 1);
        s = nl + 1;
    }
    return n;
}

/* dst becomes the same file as src: a hard link, or an atomic copy where
 * links cannot be made. The link's temporary name is ml_atomic_open's, so
 * a killed merge's leftovers are removed by the next lock holder. */
static void place(const char *src, const char *dst) {
    struct stat a, b;
    if (stat(src, &a)) ml_fatal("cannot read '%s': %s", src, strerror(errno));
    if (!stat(dst, &b) && a.st_ino == b.st_ino && a.st_dev == b.st_dev) return;
    char tmp[2 * ML_PATH_MAX2 + 32];
    snprintf(tmp, sizeof tmp, "%s.tmp%d", dst, (int)getpid());
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
        char s[2 * ML_PATH_MAX2], t[2 * ML_PATH_MAX2];
        snprintf(s, sizeof s, "%s/%s", src, e->d_name);
        snprintf(t, sizeof t, "%s/%s", dst, e->d_name);
        place(s, t);
    }
    closedir(d);
}

/* What the steps of a merge find and hand on. */
typedef struct {
    const char *outdir;
    problems pr;
    unsigned char *present, *bad; /* shard folders there; shards already named as bad */
    int top, count, first;        /* shard numbers seen, N, the shard that set N and the config */
    char *config;                 /* that shard's config.yaml */
    ml_sweep_config cfg;
    int *shard_of;
    const char **row; /* each run's row, pointing into bufs */
    int *row_len;
    char **bufs; /* each shard's runs.csv */
} merge_state;

/* Step 1: N and the config, from the shards themselves. The first shard
 * with a manifest and a config sets them; a shard that disagrees is named,
 * and all the others still checked. */
static void read_manifests(merge_state *m) {
    char path[ML_PATH_MAX2];
    m->bad = ml_calloc((size_t)m->top, 1);
    for (int i = 0; i < m->top; i++) {
        if (!m->present[i]) continue;
        char dir[ML_PATH_MAX], why[128];
        ml_shard_dir(dir, sizeof dir, m->outdir, i);
        ml_shard s;
        int before = m->pr.n;
        snprintf(path, sizeof path, "%s/config.yaml", dir);
        char *c = ml_read_file(path, NULL);
        if (ml_shard_read_manifest(dir, &s, why, sizeof why)) problem(&m->pr, "shard %d %s", i, why);
        else if (!c) problem(&m->pr, "shard %d has no config.yaml", i);
        else if (!m->count) m->count = s.count, m->first = i, m->config = c, c = NULL;
        else {
            if (s.count != m->count)
                problem(&m->pr, "shard %d was cut for %d shards, shard %d for %d", i, s.count, m->first, m->count);
            if (strcmp(c, m->config)) /* (the text is freed when merge exits 2) */
                problem(&m->pr, "shard %d is from a different config than shard %d (%s)", i, m->first,
                        ml_config_differences(m->config, c));
        }
        if (m->pr.n == before && s.index != i)
            problem(&m->pr, "shard %d: its shard.txt says it is shard %d/%d", i, s.index, s.count);
        m->bad[i] = m->pr.n > before;
        free(c);
    }
    if (!m->count)
        ml_die("merge %s: %s; nothing merged", m->outdir, m->pr.n ? m->pr.text : "no shard has a shard.txt");
    for (int i = m->count; i < m->top; i++)
        if (m->present[i]) problem(&m->pr, "shard %d is beyond the %d shards of the others", i, m->count);
    snprintf(path, sizeof path, "%s/config.yaml", m->outdir);
    char *rootcfg = ml_read_file(path, NULL);
    if (rootcfg && strcmp(rootcfg, m->config))
        problem(&m->pr, "%s differs from the shards' config (%s)", path, ml_config_differences(m->config, rootcfg));
    free(rootcfg);
}

/* Step 2: the config, and which shard each run belongs to. */
static void load_config(merge_state *m) {
    char cfgpath[ML_PATH_MAX];
    ml_shard_dir(cfgpath, sizeof cfgpath - 16, m->outdir, m->first);
    strcat(cfgpath, "/config.yaml");
    ml_config_load(&m->cfg, cfgpath, 0, NULL);
    int n = m->cfg.n_runs;
    m->shard_of = ml_malloc(sizeof(int) * (size_t)(n ? n : 1));
    ml_shard_assign(&m->cfg, m->count, m->shard_of);
    m->row = ml_calloc((size_t)n + 1, sizeof *m->row);
    m->row_len = ml_calloc((size_t)n + 1, sizeof(int));
    m->bufs = ml_calloc((size_t)m->count, sizeof *m->bufs);
}

/* Step 3: every shard there, listing its runs, each with a sound row. */
static void read_shard_rows(merge_state *m) {
    char path[ML_PATH_MAX2];
    for (int i = 0; i < m->count; i++) {
        char dir[ML_PATH_MAX];
        ml_shard_dir(dir, sizeof dir, m->outdir, i);
        if (i >= m->top || !m->present[i]) {
            problem(&m->pr, "shard %d is missing", i);
            continue;
        }
        if (m->bad[i]) continue; /* named in step 1 */
        snprintf(path, sizeof path, "%s/shard.txt", dir);
        char *have = ml_read_file(path, NULL), *want = ml_shard_manifest(&m->cfg, m->shard_of, i, m->count);
        int same = have && !strcmp(have, want), mine = 0, done = 0;
        free(have);
        free(want);
        for (int r = 0; r < m->cfg.n_runs; r++) mine += m->shard_of[r] == i;
        char why[ML_PATH_MAX2 + 512] = "";
        snprintf(path, sizeof path, "%s/runs.csv", dir);
        m->bufs[i] = ml_read_file(path, NULL);
        if (m->bufs[i])
            done = read_rows(path, m->bufs[i], &m->cfg, m->shard_of, i, m->row, m->row_len, why, sizeof why);
        /* shard.txt lists other runs than this config cuts for the shard:
         * its config.yaml was swapped or edited after it trained. The run
         * ids (hashes) cannot say what changed; a row, holding the
         * settings its run trained with, names the key and both values. */
        if (!same && why[0]) problem(&m->pr, "shard %d (%s) was not trained with its config.yaml: %s", i, dir, why);
        else if (!same)
            problem(&m->pr, "shard %d lists other runs than shard %d/%d of this config (%s/shard.txt)", i, i, m->count, dir);
        else if (why[0]) problem(&m->pr, "shard %d: %s", i, why);
        if (same && done < mine) problem(&m->pr, "shard %d is incomplete (%d of %d runs done)", i, done, mine);
    }
}

/* Step 4: every run with a row also has its loss log and checkpoints. */
static void check_run_files(merge_state *m) {
    int n_missing = 0;
    for (int r = 0; r < m->cfg.n_runs; r++) {
        char dir[ML_PATH_MAX], missing[ML_PATH_MAX];
        if (!m->row[r]) continue; /* named in step 3 */
        ml_shard_dir(dir, sizeof dir, m->outdir, m->shard_of[r]);
        if (ml_run_output_missing(dir, &m->cfg.runs[r], missing, sizeof missing) && n_missing++ < 3)
            problem(&m->pr, "shard %d has a row for %s but no %s", m->shard_of[r], m->cfg.runs[r].id, missing);
    }
    if (n_missing > 3) problem(&m->pr, "%d more runs lack files (run `monolab sweep --resume` on those shards)", n_missing - 3);
}

/* Step 5, once all is there: the files first, runs.csv last. */
static void write_merged(merge_state *m) {
    char path[ML_PATH_MAX2], dst[ML_PATH_MAX2];
    ml_atomic_file f;
    snprintf(path, sizeof path, "%s/config.yaml", m->outdir);
    ml_atomic_open(&f, path);
    ml_atomic_write(&f, m->config, strlen(m->config));
    ml_atomic_commit(&f);
    snprintf(dst, sizeof dst, "%s/loss", m->outdir);
    ml_mkdirs(dst);
    int n = m->cfg.n_runs, n_ckpt = 0;
    for (int r = 0; r < n; r++) {
        char dir[ML_PATH_MAX], src[ML_PATH_MAX2];
        ml_shard_dir(dir, sizeof dir, m->outdir, m->shard_of[r]);
        snprintf(src, sizeof src, "%s/loss/%s.csv", dir, m->cfg.runs[r].id);
        snprintf(dst, sizeof dst, "%s/loss/%s.csv", m->outdir, m->cfg.runs[r].id);
        place(src, dst);
        snprintf(src, sizeof src, "%s/ckpt/%s", dir, m->cfg.runs[r].id);
        snprintf(dst, sizeof dst, "%s/ckpt/%s", m->outdir, m->cfg.runs[r].id);
        if (ml_file_exists(src)) place_dir(src, dst), n_ckpt++;
    }
    snprintf(path, sizeof path, "%s/runs.csv", m->outdir);
    ml_atomic_open(&f, path);
    ml_atomic_write(&f, ml_runs_csv_header(), strlen(ml_runs_csv_header()));
    for (int r = 0; r < n; r++) ml_atomic_write(&f, m->row[r], (size_t)m->row_len[r]); /* run_id order */
    ml_atomic_commit(&f);
    fprintf(stderr, "[monolab] merged %d shards: %d runs (%d with checkpoints) -> %s\n", m->count, n, n_ckpt, path);
}

static void merge(const char *outdir) {
    ml_outdir_lock(outdir); /* one merge at a time; removes a killed merge's temporary files */
    merge_state m = {.outdir = outdir, .first = -1};
    char shards[ML_PATH_MAX];
    snprintf(shards, sizeof shards, "%s/shards", outdir);
    enum { MAX_SHARDS = 1000000 };
    m.present = ml_calloc(MAX_SHARDS, 1);
    m.top = list_shards(shards, m.present, MAX_SHARDS);
    if (!m.top) ml_die("%s: no shard folders (0, 1, ...) to merge", shards);
    read_manifests(&m);
    load_config(&m);
    read_shard_rows(&m);
    check_run_files(&m);
    if (m.pr.n) ml_die("merge %s: %s; nothing merged", outdir, m.pr.text);
    write_merged(&m);
    for (int i = 0; i < m.count; i++) free(m.bufs[i]);
    free(m.bufs);
    free(m.row);
    free(m.row_len);
    free(m.shard_of);
    free(m.present);
    free(m.bad);
    free(m.config);
    ml_config_free(&m.cfg);
}

static const char USAGE[] =
    "usage: monolab merge OUTDIR\n"
    "\n"
    "Combines the shards of a sharded sweep (OUTDIR/shards/0..N-1, written by\n"
    "`monolab sweep --shard I/N -o OUTDIR`) into OUTDIR/runs.csv, loss/ and ckpt/,\n"
    "identical to a one-node run of the same config (rows in run_id order) apart\n"
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
