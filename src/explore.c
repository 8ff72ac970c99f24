/* `monolab explore OUTDIR... [-o SITE] [--input FILE] [--vocab FILE]`: the
 * static site over embed outputs (see explore.h). Everything is read and
 * checked before the first file is written. */
#include "monolab/cli.h"
#include "monolab/common.h"
#include "monolab/dir_swap.h"
#include "monolab/explore.h"
#include "monolab/fsutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* share/explorer/, linked in by `ld -r -b binary` (see the Makefile). */
#define ASSET(sym) extern const char _binary_##sym##_start[], _binary_##sym##_end[];
ASSET(index_html)
ASSET(explorer_css)
ASSET(explorer_js)
static const struct {
    const char *name, *start, *end;
} assets[] = {
    {"index.html", _binary_index_html_start, _binary_index_html_end},
    {"explorer.css", _binary_explorer_css_start, _binary_explorer_css_end},
    {"explorer.js", _binary_explorer_js_start, _binary_explorer_js_end},
};

static const char USAGE[] =
    "usage: monolab explore OUTDIR... [-o SITE] [--input FILE] [--vocab FILE]\n"
    "\n"
    "A static HTML explorer of `monolab embed` outputs, one layer per OUTDIR, into\n"
    "SITE (default OUTDIR/site); open SITE/index.html from disk. The embedded file\n"
    "and its vocabulary are found from similar.safetensors (--input and --vocab\n"
    "override them). See README.md \"From a language model to an explorer\".\n";

static void write_whole(const char *site, const char *name, const char *data, size_t n) {
    char path[2 * ML_PATH_MAX2];
    snprintf(path, sizeof path, "%s/%s", site, name);
    ml_atomic_file f;
    ml_atomic_open(&f, path);
    ml_atomic_write(&f, data, n);
    ml_atomic_commit(&f);
}

/* A site is only ever written over a site: never over someone's folder. */
static void check_site(const char *site) {
    struct stat st;
    char path[8400];
    if (stat(site, &st) != 0) return;
    if (!S_ISDIR(st.st_mode)) ml_die("explore: %s exists and is not a directory", site);
    snprintf(path, sizeof path, "%s/data/layers.js", site);
    if (ml_file_exists(path)) return;
    const char *ours[] = {"index.html", "explorer.js", "data"};
    for (size_t i = 0; i < sizeof ours / sizeof *ours; i++) {
        snprintf(path, sizeof path, "%s/%s", site, ours[i]);
        if (ml_file_exists(path))
            ml_die("explore: %s already holds %s but is not a monolab explorer site; choose another -o", site, ours[i]);
    }
}

/* Layer names go into JS source: keep them to plain characters. */
static void plain(char *s) {
    for (; *s; s++)
        if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20) *s = '_';
}

enum { OPT_OUT, OPT_INPUT, OPT_VOCAB };
static const ml_cli_opt OPTS[] = {
    [OPT_OUT] = {"--out", "-o", 1}, [OPT_INPUT] = {"--input", NULL, 1}, [OPT_VOCAB] = {"--vocab", NULL, 1}, {NULL}};

int ml_explore_main(int argc, char **argv) {
    const char *site = NULL, *input = NULL, *vocab = NULL;
    const char **dirs = ml_calloc((size_t)argc + 1, sizeof(char *));
    int nd = 0;
    ml_cli cl = {"explore", USAGE, OPTS, argc, argv, 0};
    char *v;
    for (int k; (k = ml_cli_next(&cl, &v)) != ML_CLI_END;) {
        if (k == OPT_OUT) site = v;
        else if (k == OPT_INPUT) input = v;
        else if (k == OPT_VOCAB) vocab = v;
        else dirs[nd++] = v;
    }
    if (!nd) ml_cli_usage_die("explore", "missing OUTDIR", NULL);
    if ((input || vocab) && nd > 1) ml_cli_usage_die("explore", "--input and --vocab apply to one OUTDIR, got", dirs[1]);
    char defsite[ML_PATH_MAX];
    if (!site) {
        snprintf(defsite, sizeof defsite, "%s/site", dirs[0]);
        site = defsite;
    }
    double t0 = ml_now();
    ml_embed_out *e = ml_calloc((size_t)nd, sizeof *e);
    for (int l = 0; l < nd; l++) {
        ml_embed_out_load(&e[l], dirs[l]);
        fprintf(stderr, "[monolab] explore: read %s in %.1f s\n", dirs[l], ml_now() - t0);
        const char *in = input ? input : e[l].input;
        if (!ml_file_exists(in))
            ml_die("explore: %s was embedded from %s, which is not there (pass it with --input)", dirs[l], in);
    }
    check_site(site);
    /* Built whole beside the site, then swapped in: a killed run leaves the
     * old site (or none), and a rebuild keeps no page of the old one. */
    char build[8400];
    ml_dir_build_begin(site, build, sizeof build);
    char layers[8192] = "ML.layers([";
    for (int l = 0; l < nd; l++) {
        ml_explore_src s;
        double t1 = ml_now();
        ml_explore_src_load(&s, &e[l], input ? input : e[l].input, vocab);
        plain(s.name);
        double t2 = ml_now();
        ml_explore_write_layer(build, l, &e[l], &s);
        size_t at = strlen(layers);
        snprintf(layers + at, sizeof layers - at, "%s{\"dir\":\"L%d\",\"name\":\"%s\"}", l ? "," : "", l, s.name);
        fprintf(stderr, "[monolab] explore: layer %d (%s): input read in %.1f s, data of %d neurons written in %.1f s\n",
                l, s.name, t2 - t1, e[l].n, ml_now() - t2);
        ml_explore_src_free(&s);
        ml_embed_out_free(&e[l]);
    }
    strcat(layers, "]);\n");
    for (size_t i = 0; i < sizeof assets / sizeof *assets; i++)
        write_whole(build, assets[i].name, assets[i].start, (size_t)(assets[i].end - assets[i].start));
    write_whole(build, "data/layers.js", layers, strlen(layers));
    ml_dir_build_commit(build, site);
    fprintf(stderr, "[monolab] explore: site in %.1f s; open %s/index.html\n", ml_now() - t0, site);
    free(e);
    free(dirs);
    return 0;
}
