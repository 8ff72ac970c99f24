/* Helpers shared by the commands' command lines. */
#include "monolab/cli.h"
#include "monolab/common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ml_default_outdir(char *buf, size_t n, const char *prefix, const char *input) {
    const char *s = strrchr(input, '/');
    s = s ? s + 1 : input;
    snprintf(buf, n, "runs/%s%.*s", prefix, (int)strcspn(s, "."), s);
}

void ml_cli_config_arg(const char *cmd, char *arg, const char **config_path, char **over, int *n_over) {
    if (!*config_path) *config_path = arg;
    else if (strchr(arg, '=')) over[(*n_over)++] = arg;
    else ml_die("%s: unexpected argument '%s' (overrides look like key=value)", cmd, arg);
}

double ml_cli_number(const char *cmd, const char *flag, const char *v, double lo, double hi) {
    char *end;
    double x = strtod(v, &end);
    if (end == v || *end || !(x >= lo && x <= hi))
        ml_die("%s: %s must be a number in [%g, %g], got '%s' (see monolab %s --help)", cmd, flag, lo, hi, v, cmd);
    return x;
}

void ml_cli_usage_die(const char *cmd, const char *msg, const char *arg) {
    ml_die("%s: %s%s%s (see monolab %s --help)", cmd, msg, arg ? " " : "", arg ? arg : "", cmd);
}
