/* libFuzzer target for the config loader (src/config_schema.c) and
 * key=value overrides, through both schemas that use it: the sweep's and
 * the sae's. Any bytes as the YAML file (up to the first NUL), then up to 8
 * NUL-separated overrides; the same input goes to both. Every input must either load or be refused through ml_die /
 * ml_fatal (caught here with a die hook); ASan and UBSan catch the rest.
 * Build and run with `make fuzz-config` (or `make fuzz`, which runs both
 * targets); the seed corpus is tests/fuzz/corpus_config.
 *
 * Leak detection is off for this target (see the Makefile): a refused
 * config ends the process in real use, so its allocations are never freed
 * by design, and longjmp-ing out of ml_die leaks them here. */
#include "monolab/common.h"
#include "monolab/config.h"
#include "monolab/sae_config.h"
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static jmp_buf back;
static char cfg_path[64];

static void on_die(int code, const char *msg) {
    (void)code;
    /* Every refusal must be one line: say_and_exit guarantees it; check. */
    if (strchr(msg, '\n')) abort();
    longjmp(back, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!cfg_path[0]) {
        snprintf(cfg_path, sizeof cfg_path, "/tmp/monolab-fuzz-config-%d.yaml", (int)getpid());
        ml_set_die_hook(on_die);
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t ylen = nul ? (size_t)(nul - data) : size;
    FILE *f = fopen(cfg_path, "wb");
    if (!f) abort();
    fwrite(data, 1, ylen, f);
    fclose(f);

    /* Overrides, then a small max_runs so that a legal but huge grid costs
     * milliseconds, not gigabytes (the limit itself is what is fuzzed). */
    char *over[9];
    int n_over = 0;
    char *rest = NULL;
    if (nul) {
        size_t rlen = size - ylen - 1;
        rest = malloc(rlen + 1);
        memcpy(rest, nul + 1, rlen);
        rest[rlen] = 0;
        for (char *p = rest; p < rest + rlen && n_over < 8; p += strlen(p) + 1) over[n_over++] = p;
    }
    char limit[] = "max_runs=4096";
    over[n_over++] = limit;

    static ml_sweep_config cfg; /* static: survives the longjmp */
    if (!setjmp(back)) {
        ml_config_load(&cfg, cfg_path, n_over, over);
        if (cfg.n_runs < 1 || cfg.n_runs > 4096 || !cfg.resolved_yaml) abort();
        ml_config_free(&cfg);
    }
    /* The sae schema has no max_runs: the limit override is left out. */
    static ml_sae_config sae;
    if (!setjmp(back)) {
        ml_sae_config_load(&sae, cfg_path, n_over - 1, over);
        if (sae.n_seeds < 1 || sae.n_l1 < 1 || sae.n_ln < 1 || !sae.resolved_yaml) abort();
        ml_sae_config_free(&sae);
    }
    free(rest);
    return 0;
}
