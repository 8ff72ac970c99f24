/* Helpers shared by the commands' command lines. */
#include "monolab/cli.h"
#include "monolab/common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ml_cli_next(ml_cli *c, char **val) {
    *val = NULL;
    if (c->i >= c->argc) return ML_CLI_END;
    char *a = c->argv[c->i++];
    if (a[0] != '-' || !a[1]) { /* "-" alone is a path (stdin), as elsewhere */
        *val = a;
        return ML_CLI_ARG;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
        printf("%s", c->usage);
        exit(0);
    }
    size_t len = strcspn(a, "=");
    for (int k = 0; c->opts[k].name; k++) {
        const ml_cli_opt *o = &c->opts[k];
        int is_long = strlen(o->name) == len && !strncmp(a, o->name, len);
        int is_alias = o->alias && !strcmp(a, o->alias);
        if (!is_long && !is_alias) continue;
        if (is_long && a[len] == '=') {
            if (!o->takes_value) ml_cli_usage_die(c->cmd, "this option takes no value:", a);
            *val = a + len + 1;
        } else if (o->takes_value) {
            if (c->i >= c->argc) ml_cli_usage_die(c->cmd, "missing value after", a);
            *val = c->argv[c->i++];
        }
        return k;
    }
    ml_die("%s: unknown option '%s' (see monolab %s --help)", c->cmd, a, c->cmd);
}

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
