/* `monolab watch OUTDIR`: the loss curves of a running sweep, in the
 * terminal. It reads only what the sweep writes atomically (runs.csv and
 * the live loss logs, loss/RUN_ID.csv), so it never sees a torn row and
 * never disturbs the sweep; it can watch a sweep on another node over a
 * shared file system or ssh, where no figure can be shown. A curve is a
 * line of block characters: the loss on a log scale shared by every run
 * shown, so the lines compare. */
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/config.h"
#include "monolab/csv_table.h"
#include "monolab/run_ids.h"
#include "monolab/strbuf.h"
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WIDTH 40   /* characters of a curve */
#define SHOWN 30   /* runs shown without --all */

typedef struct {
    char id[24];
    int live;   /* a loss log without a runs.csv row: training now (or stopped mid-group) */
    int n;      /* logged rows */
    long *step;
    double *loss;
} curve;

static int cmp_live_first(const void *a, const void *b) {
    const curve *x = a, *y = b;
    if (x->live != y->live) return y->live - x->live;
    return strcmp(x->id, y->id);
}

/* Every loss log of dir/loss; live: its id has no row in runs.csv (rows). */
static int read_curves(const char *dir, const ml_csv *rows, curve **out) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/loss", dir);
    DIR *d = opendir(path);
    int n = 0, cap = 0;
    *out = NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len < 5 || len - 4 >= sizeof((curve *)0)->id || strcmp(e->d_name + len - 4, ".csv")) continue;
        ml_csv t;
        snprintf(path, sizeof path, "%s/loss/%s", dir, e->d_name);
        if (ml_csv_read(&t, path)) continue; /* gone since readdir */
        if (t.n_rows == 0 || ml_csv_col(&t, "loss") < 0) {
            ml_csv_free(&t);
            continue;
        }
        if (n == cap) *out = realloc(*out, sizeof **out * (size_t)(cap = cap ? 2 * cap : 64));
        curve *c = &(*out)[n++];
        snprintf(c->id, sizeof c->id, "%.*s", (int)(len - 4), e->d_name);
        c->live = 1;
        for (int r = 0; r < rows->n_rows && c->live; r++) c->live = strcmp(rows->rows[r][0], c->id) != 0;
        c->n = t.n_rows;
        c->step = ml_malloc(sizeof(long) * (size_t)c->n);
        c->loss = ml_malloc(sizeof(double) * (size_t)c->n);
        int sc = ml_csv_col(&t, "step"), lc = ml_csv_col(&t, "loss");
        for (int r = 0; r < c->n; r++) {
            c->step[r] = sc >= 0 ? atol(t.rows[r][sc]) : r;
            c->loss[r] = strtod(t.rows[r][lc], NULL);
        }
        ml_csv_free(&t);
    }
    if (d) closedir(d);
    if (n) qsort(*out, (size_t)n, sizeof **out, cmp_live_first);
    return n;
}

/* The curve as WIDTH block characters between log10 losses lo and hi;
 * '!' where the loss is not finite (a diverged run). */
static void sparkline(const curve *c, double lo, double hi, ml_sbuf *b) {
    static const char *const BLOCK[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
    int w = c->n < WIDTH ? c->n : WIDTH;
    for (int x = 0; x < w; x++) {
        double v = c->loss[w > 1 ? (long)x * (c->n - 1) / (w - 1) : 0];
        if (!(v > 0) || !isfinite(v)) {
            ml_sb_put(b, "!", 1);
            continue;
        }
        int lvl = hi > lo ? (int)((log10(v) - lo) / (hi - lo) * 7 + 0.5) : 0;
        ml_sb_printf(b, "%s", BLOCK[lvl < 0 ? 0 : lvl > 7 ? 7 : lvl]);
    }
}

/* "k=8 bias_offset=-1 seed=0": the settings that differ between runs of cfg. */
static void label(const ml_sweep_config *cfg, const char *id, char *buf, size_t n) {
    int r = ml_run_index_find(cfg->ids, id, strlen(id));
    buf[0] = 0;
    if (r < 0) return; /* a positional id of an older folder */
    char a[64], b[64];
    size_t len = 0;
    for (int f = 0; f < ML_N_RUN_FIELDS && len < n; f++) {
        if (!(ML_RUN_FIELDS[f].where & ML_RF_CSV)) continue;
        ml_run_field_format(&cfg->runs[r], &ML_RUN_FIELDS[f], a, sizeof a);
        int varies = 0;
        for (int o = 0; o < cfg->n_runs && !varies; o++) {
            ml_run_field_format(&cfg->runs[o], &ML_RUN_FIELDS[f], b, sizeof b);
            varies = strcmp(a, b) != 0;
        }
        if (varies) len += (size_t)snprintf(buf + len, n - len, "%s%s=%s", len ? " " : "", ML_RUN_FIELDS[f].name, a);
    }
}

/* One view of the sweep in dir; returns 1 when every run of cfg is done. */
static int frame(const char *dir, const ml_sweep_config *cfg, int all, int clear) {
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    ml_csv rows = {0};
    if (ml_csv_read(&rows, path)) rows.n_rows = 0;
    curve *c;
    int n = read_curves(dir, &rows, &c), n_live = 0, shown = all || n <= SHOWN ? n : SHOWN;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < shown; i++)
        for (int r = 0; r < c[i].n; r++)
            if (c[i].loss[r] > 0 && isfinite(c[i].loss[r])) {
                double l = log10(c[i].loss[r]);
                lo = l < lo ? l : lo, hi = l > hi ? l : hi;
            }
    for (int i = 0; i < n; i++) n_live += c[i].live;
    ml_sbuf b = {0};
    if (clear) ml_sb_printf(&b, "\033[H\033[J");
    ml_sb_printf(&b, "sweep '%s' in %s: %d of %d runs done, %d with a loss log but no result yet%s\n", cfg->name, dir,
                 rows.n_rows, cfg->n_runs, n_live, n_live ? " (training, or stopped mid-group)" : "");
    if (shown) ml_sb_printf(&b, "loss on a log scale from %.3g (▁) to %.3g (█), left to right over the steps logged\n",
                            isfinite(lo) ? pow(10, lo) : NAN, isfinite(hi) ? pow(10, hi) : NAN);
    for (int i = 0; i < shown; i++) {
        char lab[256];
        label(cfg, c[i].id, lab, sizeof lab);
        int r = ml_run_index_find(cfg->ids, c[i].id, strlen(c[i].id));
        ml_sb_printf(&b, "%-13s %-5s step %6ld/%-6ld loss %-10.4g ", c[i].id, c[i].live ? "live" : "done",
                     c[i].step[c[i].n - 1], r >= 0 ? cfg->runs[r].steps : 0L, c[i].loss[c[i].n - 1]);
        sparkline(&c[i], lo, hi, &b);
        ml_sb_printf(&b, "  %s\n", lab);
    }
    if (shown < n) ml_sb_printf(&b, "... and %d more finished runs (--all shows every run)\n", n - shown);
    fwrite(b.p, 1, b.n, stdout);
    fflush(stdout);
    free(b.p);
    int complete = rows.n_rows >= cfg->n_runs;
    for (int i = 0; i < n; i++) free(c[i].step), free(c[i].loss);
    free(c);
    if (rows.buf) ml_csv_free(&rows);
    return complete;
}

static const char USAGE[] =
    "usage: monolab watch OUTDIR [--every SECONDS] [--once] [--all]\n"
    "\n"
    "Shows the loss curves of a sweep while it trains, in the terminal: each run's\n"
    "step, last loss and curve (from the live loss logs, loss/RUN_ID.csv), the\n"
    "runs still training first. Redraws every --every seconds (default 2) until\n"
    "every run of OUTDIR/config.yaml has its row in runs.csv; --once draws once.\n"
    "At most 30 runs are listed unless --all.\n";

enum { OPT_EVERY, OPT_ONCE, OPT_ALL };
static const ml_cli_opt OPTS[] = {[OPT_EVERY] = {"--every", NULL, 1}, [OPT_ONCE] = {"--once", NULL, 0},
                                  [OPT_ALL] = {"--all", NULL, 0}, {NULL}};

int ml_watch_main(int argc, char **argv) {
    const char *dir = NULL;
    double every = 2;
    int once = 0, all = 0;
    ml_cli cl = {"watch", USAGE, OPTS, argc, argv, 0};
    char *v;
    for (int k; (k = ml_cli_next(&cl, &v)) != ML_CLI_END;) {
        switch (k) {
        case OPT_EVERY: every = ml_cli_number("watch", "--every", v, 0.05, 3600); break;
        case OPT_ONCE: once = 1; break;
        case OPT_ALL: all = 1; break;
        default:
            if (dir) ml_cli_usage_die("watch", "takes one OUTDIR, got another:", v);
            dir = v;
        }
    }
    if (!dir) ml_cli_usage_die("watch", "missing OUTDIR", NULL);
    char path[ML_PATH_MAX];
    snprintf(path, sizeof path, "%s/config.yaml", dir);
    if (access(path, R_OK)) ml_die("watch: %s not found: %s is not a sweep folder (or its sweep has not started)", path, dir);
    ml_sweep_config cfg;
    ml_config_load(&cfg, path, 0, NULL);
    int clear = isatty(fileno(stdout)) && !once;
    while (!frame(dir, &cfg, all, clear) && !once) {
        struct timespec ts = {(time_t)every, (long)((every - (double)(time_t)every) * 1e9)};
        nanosleep(&ts, NULL);
        /* a sweep that grew (--resume with more runs) is watched whole */
        ml_sweep_config now;
        ml_config_load(&now, path, 0, NULL);
        if (now.n_runs != cfg.n_runs) {
            ml_config_free(&cfg);
            cfg = now;
        } else ml_config_free(&now);
    }
    ml_config_free(&cfg);
    return 0;
}
