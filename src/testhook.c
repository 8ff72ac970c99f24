/* Test-only fault injection: see include/monolab/testhook.h. */
#include "monolab/testhook.h"
#include "monolab/common.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int armed = -1; /* -1: env not read yet; 0: off; 1: on */
static char target[64];
static long target_n, seen;

void ml_test_point(const char *event) {
    if (armed == 0) return;
    if (armed < 0) {
        const char *env = getenv("MONOLAB_TEST_KILL_AT");
        const char *colon = env ? strrchr(env, ':') : NULL;
        armed = 0;
        if (!env || !*env) return;
        if (!colon || colon == env || (size_t)(colon - env) >= sizeof target || atol(colon + 1) < 1)
            ml_die("MONOLAB_TEST_KILL_AT must look like <event>:<n>, got '%s'", env);
        snprintf(target, sizeof target, "%.*s", (int)(colon - env), env);
        target_n = atol(colon + 1);
        armed = 1;
    }
    if (strcmp(event, target) || ++seen < target_n) return;
    fflush(NULL);
    raise(SIGKILL);
}

void ml_test_write_point(const char *path) {
    if (armed == 0) return;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *kind = strstr(path, ".safetensors") ? "write:ckpt"
                       : !strcmp(base, "runs.csv")  ? "write:runs.csv"
                       : strstr(path, "/loss/")      ? "write:loss"
                       : !strcmp(base, "config.yaml") ? "write:config"
                                                      : "write:other";
    ml_test_point(kind);
}
