/* IDX reader (the MNIST file format: a big-endian header with magic
 * 0x0000 <type> <ndim>, ndim big-endian uint32 sizes, then the bytes).
 * zlib's gzread reads plain files unchanged, so one path serves both. */
#include "monolab/sae_idx.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_UBYTE 0x08

static uint32_t be32(const uint8_t *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Reads exactly n bytes; returns how many it got (short on EOF). */
static size_t read_full(gzFile f, const char *path, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        unsigned chunk = n - got > (1u << 30) ? 1u << 30 : (unsigned)(n - got);
        int r = gzread(f, (uint8_t *)buf + got, chunk);
        if (r < 0) {
            int e;
            ml_die("%s: cannot read: %s (corrupt gzip stream?)", path, gzerror(f, &e));
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    return got;
}

void ml_idx_read(ml_idx *t, const char *path) {
    memset(t, 0, sizeof *t);
    int fd = ml_open_input(path, SIZE_MAX, NULL); /* bounded below by the header's dimensions */
    gzFile f = fd < 0 ? NULL : gzdopen(fd, "rb");
    if (!f) ml_die("%s: cannot open", path);
    uint8_t h[4];
    if (read_full(f, path, h, 4) != 4) ml_die("%s: too short for an IDX header (4 bytes)", path);
    if (h[0] != 0 || h[1] != 0 || h[3] < 1 || h[3] > 4)
        ml_die("%s: not an IDX file (magic number 0x%02x%02x%02x%02x; expected 0x0000TTDD with 1 <= DD <= 4)", path,
               h[0], h[1], h[2], h[3]);
    if (h[2] != IDX_UBYTE) ml_die("%s: IDX element type 0x%02x is not supported (only unsigned bytes, 0x08)", path, h[2]);
    t->ndim = h[3];
    uint8_t dims[16];
    if (read_full(f, path, dims, 4u * t->ndim) != 4u * t->ndim)
        ml_die("%s: truncated IDX header (%d dimensions announced)", path, t->ndim);
    t->count = 1;
    for (int i = 0; i < t->ndim; i++) {
        t->dims[i] = be32(dims + 4 * i);
        if (t->dims[i] == 0 || t->dims[i] > (1 << 30)) ml_die("%s: dimension %d has size %lld", path, i, (long long)t->dims[i]);
        t->count *= t->dims[i];
        if (t->count > ((int64_t)1 << 34)) ml_die("%s: %lld elements is more than monolab reads", path, (long long)t->count);
    }
    t->data = ml_malloc((size_t)t->count);
    size_t got = read_full(f, path, t->data, (size_t)t->count);
    if (got != (size_t)t->count)
        ml_die("%s: truncated: the header announces %lld bytes of data, the file has %zu", path, (long long)t->count, got);
    uint8_t extra;
    if (read_full(f, path, &extra, 1) != 0)
        ml_die("%s: bytes past the %lld the header announces (wrong dimensions?)", path, (long long)t->count);
    gzclose(f);
}

void ml_idx_free(ml_idx *t) {
    free(t->data);
    memset(t, 0, sizeof *t);
}

/* DIR/NAME or DIR/NAME.gz, whichever exists (plain first). */
static void find_file(char *out, size_t n, const char *dir, const char *split, const char *kind) {
    snprintf(out, n, "%s/%s-%s", dir, split, kind);
    if (access(out, R_OK) == 0) return;
    snprintf(out, n, "%s/%s-%s.gz", dir, split, kind);
    if (access(out, R_OK) == 0) return;
    ml_die("%s/%s-%s[.gz]: not found (data.dir must hold an MNIST-style dataset)", dir, split, kind);
}

void ml_digits_load(ml_digits *d, const char *dir, const char *split, int n_classes) {
    char pi[ML_PATH_MAX], pl[ML_PATH_MAX];
    find_file(pi, sizeof pi, dir, split, "images-idx3-ubyte");
    find_file(pl, sizeof pl, dir, split, "labels-idx1-ubyte");
    ml_idx im, lb;
    ml_idx_read(&im, pi);
    ml_idx_read(&lb, pl);
    if (im.ndim < 2) ml_die("%s: images need at least 2 dimensions, the file has %d", pi, im.ndim);
    if (lb.ndim != 1) ml_die("%s: labels need 1 dimension, the file has %d", pl, lb.ndim);
    if (im.dims[0] != lb.dims[0])
        ml_die("%s: %lld labels for %lld images in %s", pl, (long long)lb.dims[0], (long long)im.dims[0], pi);
    d->n = (int)im.dims[0];
    d->dim = (int)(im.count / im.dims[0]);
    d->x = ml_malloc(sizeof(float) * (size_t)im.count);
    for (int64_t i = 0; i < im.count; i++) d->x[i] = (float)im.data[i] / 255.0f;
    d->y = ml_malloc(sizeof(int) * (size_t)d->n);
    for (int i = 0; i < d->n; i++) {
        if (lb.data[i] >= n_classes) ml_die("%s: label %d of item %d is not below %d", pl, lb.data[i], i, n_classes);
        d->y[i] = lb.data[i];
    }
    ml_idx_free(&im);
    ml_idx_free(&lb);
}

void ml_digits_free(ml_digits *d) {
    free(d->x);
    free(d->y);
    d->x = NULL;
    d->y = NULL;
}
