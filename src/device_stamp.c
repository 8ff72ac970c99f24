/* Self-test stamps of CUDA devices (include/monolab/device_stamp.h). The
 * file is plain `key: value` lines, so a user can read why a GPU is or is
 * not used:
 *   monolab-build: 9c1f0e2a4b7d3e11
 *   gpu: NVIDIA H100 80GB HBM3
 *   uuid: 5f0c...
 *   compute-capability: 9.0
 *   driver: 13000
 *   runtime: 13000
 *   kernels: ref
 *   result: pass
 *   date: 2026-12-06T21:40:02Z
 *   summary: 14 cases passed in 6.1 s */
#include "monolab/device_stamp.h"
#include "monolab/common.h"
#include "monolab/user_cache.h"
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* The executable's own bytes identify the build: any change to the code,
 * the flags or the libraries linked statically gives another id. */
static void build_id(char *out, size_t n) {
    static char cached[24];
    if (!cached[0]) {
        uint64_t h = 0xcbf29ce484222325ull;
        FILE *f = fopen("/proc/self/exe", "rb");
        if (f) {
            unsigned char buf[1 << 16];
            size_t r;
            while ((r = fread(buf, 1, sizeof buf, f)) > 0) h = fnv1a(h, buf, r);
            fclose(f);
        }
        snprintf(cached, sizeof cached, "%016llx", (unsigned long long)h);
    }
    snprintf(out, n, "%s", cached);
}

int ml_stamp_key_now(ml_stamp_key *k) {
    memset(k, 0, sizeof *k);
    if (!ml_cuda_device_id(&k->dev)) return 0;
    build_id(k->build, sizeof k->build);
    const char *v = getenv("MONOLAB_KERNELS");
    snprintf(k->kernels, sizeof k->kernels, "%s", v && *v ? v : "ref");
    return 1;
}

/* The key as the stamp's first lines; its hash names the file. */
static void key_text(const ml_stamp_key *k, char *out, size_t n) {
    snprintf(out, n,
             "monolab-build: %s\ngpu: %s\nuuid: %s\ncompute-capability: %d.%d\ndriver: %d\nruntime: %d\nkernels: %s\n",
             k->build, k->dev.name, k->dev.uuid, k->dev.cc_major, k->dev.cc_minor, k->dev.driver, k->dev.runtime,
             k->kernels);
}

int ml_stamp_path(const ml_stamp_key *k, char *buf, size_t n) {
    char key[1024], name[64];
    key_text(k, key, sizeof key);
    snprintf(name, sizeof name, "selftest-%016llx.txt", (unsigned long long)fnv1a(0xcbf29ce484222325ull, key, strlen(key)));
    return ml_user_cache_path(name, buf, n);
}

/* The value of "name: value" in text, up to the end of its line. */
static void field(const char *text, const char *name, char *out, size_t n) {
    out[0] = 0;
    size_t len = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, name, len) && p[len] == ':' && p[len + 1] == ' ') {
            const char *v = p + len + 2, *e = strchr(v, '\n');
            size_t m = e ? (size_t)(e - v) : strlen(v);
            if (m >= n) m = n - 1;
            memcpy(out, v, m);
            out[m] = 0;
            return;
        }
}

ml_stamp_state ml_stamp_read(const ml_stamp_key *k, char *date, size_t date_n, char *summary, size_t summary_n) {
    char path[ML_PATH_MAX];
    if (!ml_stamp_path(k, path, sizeof path)) return ML_STAMP_NONE;
    char text[4096];
    if (ml_user_cache_read(path, text, sizeof text) <= 0) return ML_STAMP_NONE;
    char key[1024];
    key_text(k, key, sizeof key);
    if (strncmp(text, key, strlen(key))) return ML_STAMP_NONE; /* another key under this name */
    char result[16];
    field(text, "result", result, sizeof result);
    if (date) field(text, "date", date, date_n);
    if (summary) field(text, "summary", summary, summary_n);
    return !strcmp(result, "pass") ? ML_STAMP_PASS : !strcmp(result, "fail") ? ML_STAMP_FAIL : ML_STAMP_NONE;
}

int ml_stamp_log_path(const ml_stamp_key *k, char *buf, size_t n) {
    char path[ML_PATH_MAX];
    if (!ml_stamp_path(k, path, sizeof path)) return 0;
    *strrchr(path, '/') = 0;
    snprintf(buf, n, "%s/selftest-last.log", path);
    return ml_user_cache_make_folder(buf) == 0;
}

void ml_stamp_write(const ml_stamp_key *k, int passed, const char *summary) {
    char path[ML_PATH_MAX];
    if (!ml_stamp_path(k, path, sizeof path)) {
        fprintf(stderr, "[monolab] warning: no cache folder (neither XDG_CACHE_HOME nor HOME is set): the self-test "
                        "verdict is not recorded\n");
        return;
    }
    char key[1024], date[32], text[2048];
    key_text(k, key, sizeof key);
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    snprintf(text, sizeof text, "%sresult: %s\ndate: %s\nsummary: %s\n", key, passed ? "pass" : "fail", date, summary);
    if (ml_user_cache_write(path, text))
        fprintf(stderr, "[monolab] warning: could not record the self-test verdict in '%s': %s\n", path, strerror(errno));
}
