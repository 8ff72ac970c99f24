/* Helpers shared by the commands' command lines. */
#include "monolab/cli.h"
#include <stdio.h>
#include <string.h>

void ml_default_outdir(char *buf, size_t n, const char *prefix, const char *input) {
    const char *s = strrchr(input, '/');
    s = s ? s + 1 : input;
    snprintf(buf, n, "runs/%s%.*s", prefix, (int)strcspn(s, "."), s);
}
