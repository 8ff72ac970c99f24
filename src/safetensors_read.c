/* safetensors reader: mmap + cJSON header. Everything in the header is
 * validated up front (dtype, shape, offsets, overlap, sizes with overflow
 * checks) so that later code can index tensors without further checks. */
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include "monolab/safetensors.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_HEADER (100u << 20)

static int by_offset(const void *a, const void *b) {
    const ml_st_entry *x = *(const ml_st_entry *const *)a, *y = *(const ml_st_entry *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

#define FAIL(...) do { snprintf(f->err, sizeof f->err, __VA_ARGS__); return -1; } while (0)

/* Parse and validate a whole file held in memory. Returns 0, or -1 with a
 * message in f->err. Never exits: the fuzz target drives it directly. */
int ml_st_parse(ml_st_file *f, const uint8_t *b, size_t size) {
    const char *path = f->path ? f->path : "<memory>";
    f->size = size;
    if (size < 8) FAIL("%s: truncated: %zu bytes, a safetensors file starts with an 8-byte header length", path, size);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--) hl = hl << 8 | b[i];
    if (hl > MAX_HEADER || hl > f->size - 8)
        FAIL("%s: header length %llu does not fit in the file (%zu bytes)", path, (unsigned long long)hl, f->size);
    char *json = ml_malloc((size_t)hl + 1);
    memcpy(json, b + 8, (size_t)hl);
    json[hl] = 0;
    cJSON *root = cJSON_Parse(json);
    free(json);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        FAIL("%s: header is not a JSON object", path);
    }
    f->root = root;
    f->data = b + 8 + hl;
    f->data_size = f->size - 8 - (size_t)hl;
    int n = 0;
    for (cJSON *e = root->child; e; e = e->next) n += strcmp(e->string, "__metadata__") != 0;
    f->t = ml_calloc((size_t)n, sizeof *f->t);
    for (cJSON *e = root->child; e; e = e->next) {
        const char *name = e->string;
        if (!strcmp(name, "__metadata__")) {
            if (!cJSON_IsObject(e)) FAIL("%s: __metadata__ must be an object", path);
            for (cJSON *m = e->child; m; m = m->next)
                if (!cJSON_IsString(m)) FAIL("%s: __metadata__ value '%s' must be a string", path, m->string);
            continue;
        }
        for (int q = 0; q < f->n; q++)
            if (!strcmp(f->t[q].name, name)) FAIL("%s: tensor '%s' appears twice in the header", path, name);
        ml_st_entry *t = &f->t[f->n];
        t->name = ml_strdup(name);
        f->n++; /* counted now so that ml_st_close frees it on any error below */
        cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!cJSON_IsObject(e) || !cJSON_IsString(dt) || !cJSON_IsArray(sh) || !cJSON_IsArray(off))
            FAIL("%s: tensor '%s': needs dtype, shape and data_offsets", path, name);
        int i;
        for (i = 0; i < ML_ST_N_DTYPES && strcmp(ml_st_dtype_name((ml_st_dtype)i), dt->valuestring); i++) {}
        if (i == ML_ST_N_DTYPES) FAIL("%s: tensor '%s': unsupported dtype '%s' (F32, F16, BF16, F64, I64, I32)", path, name, dt->valuestring);
        t->dtype = (ml_st_dtype)i;
        t->ndim = cJSON_GetArraySize(sh);
        if (t->ndim > 8) FAIL("%s: tensor '%s': more than 8 dimensions", path, name);
        size_t count = 1;
        int d = 0;
        for (cJSON *x = sh->child; x; x = x->next, d++) {
            double v = x->valuedouble;
            if (!cJSON_IsNumber(x) || v < 0 || v != floor(v) || v > 9.0e15)
                FAIL("%s: tensor '%s': shape entries must be non-negative integers", path, name);
            t->shape[d] = (int64_t)v;
            if (t->shape[d] && count > SIZE_MAX / (size_t)t->shape[d])
                FAIL("%s: tensor '%s': shape overflows", path, name);
            count *= (size_t)t->shape[d];
        }
        if (cJSON_GetArraySize(off) != 2 || !cJSON_IsNumber(off->child) || !cJSON_IsNumber(off->child->next))
            FAIL("%s: tensor '%s': data_offsets must be [begin, end]", path, name);
        double a = off->child->valuedouble, z = off->child->next->valuedouble;
        if (a < 0 || z < a || a != floor(a) || z != floor(z) || z > (double)f->data_size)
            FAIL("%s: tensor '%s': data_offsets [%.0f, %.0f] out of range (data section is %zu bytes)", path, name, a,
                   z, f->data_size);
        t->offset = (size_t)a;
        t->nbytes = (size_t)z - (size_t)a;
        if (count > SIZE_MAX / ml_st_dtype_size(t->dtype) || t->nbytes != count * ml_st_dtype_size(t->dtype))
            FAIL("%s: tensor '%s': %zu bytes of data for a shape of %zu %s elements", path, name, t->nbytes, count,
                   dt->valuestring);
    }
    ml_st_entry **order = ml_malloc(sizeof *order * (size_t)(f->n ? f->n : 1));
    for (int i = 0; i < f->n; i++) order[i] = &f->t[i];
    qsort(order, (size_t)f->n, sizeof *order, by_offset);
    for (int i = 1; i < f->n; i++)
        if (order[i]->offset < order[i - 1]->offset + order[i - 1]->nbytes) {
            snprintf(f->err, sizeof f->err, "%s: tensor '%s' overlaps tensor '%s'", path, order[i]->name,
                     order[i - 1]->name);
            free(order);
            return -1;
        }
    free(order);
    cJSON *meta = cJSON_DetachItemFromObjectCaseSensitive(root, "__metadata__");
    f->meta = meta;
    cJSON_Delete(root);
    f->root = NULL;
    return 0;
}

void ml_st_open(ml_st_file *f, const char *path) {
    memset(f, 0, sizeof *f);
    f->path = ml_strdup(path);
    size_t size; /* mapped, not read: any size a regular file can have */
    int fd = ml_open_input(path, SIZE_MAX, &size);
    if (fd < 0) ml_die("%s: cannot open: %s", path, strerror(errno));
    if (size == 0) ml_die("%s: truncated: 0 bytes, a safetensors file starts with an 8-byte header length", path);
    f->map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (f->map == MAP_FAILED) ml_die("%s: cannot map: %s", path, strerror(errno));
    if (ml_st_parse(f, f->map, size)) ml_die("%s", f->err);
}

void ml_st_close(ml_st_file *f) {
    if (f->map && f->map != MAP_FAILED) munmap(f->map, f->size);
    cJSON_Delete(f->root);
    for (int i = 0; i < f->n; i++) free(f->t[i].name);
    free(f->t);
    cJSON_Delete(f->meta);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const ml_st_entry *ml_st_find(const ml_st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->t[i].name, name)) return &f->t[i];
    return NULL;
}

const char *ml_st_meta(const ml_st_file *f, const char *key) {
    cJSON *v = f->meta ? cJSON_GetObjectItemCaseSensitive((cJSON *)f->meta, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static float half_to_f32(uint16_t h) {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 0) {
        if (m == 0) bits = s;
        else { /* subnormal: normalise */
            e = 113;
            while (!(m & 1024)) { m <<= 1; e--; }
            bits = s | e << 23 | (m & 1023) << 13;
        }
    } else if (e == 31) bits = s | 0x7f800000u | m << 13;
    else bits = s | (e + 112) << 23 | m << 13;
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

float *ml_st_get_f32(const ml_st_file *f, const char *name, int want_ndim, const int64_t *want, int optional) {
    const ml_st_entry *t = ml_st_find(f, name);
    if (!t) {
        if (optional) return NULL;
        ml_die("%s: tensor '%s' is missing", f->path, name);
    }
    if (want_ndim >= 0 && t->ndim != want_ndim)
        ml_die("%s: tensor '%s' has %d dimensions, expected %d", f->path, name, t->ndim, want_ndim);
    for (int d = 0; want && d < t->ndim; d++)
        if (want[d] >= 0 && t->shape[d] != want[d])
            ml_die("%s: tensor '%s' has shape[%d] = %lld, expected %lld", f->path, name, d, (long long)t->shape[d],
                   (long long)want[d]);
    size_t count = t->nbytes / ml_st_dtype_size(t->dtype);
    float *out = ml_malloc(sizeof(float) * (count ? count : 1));
    const uint8_t *src = f->data + t->offset;
    for (size_t i = 0; i < count; i++) {
        switch (t->dtype) {
        case ML_ST_F32: memcpy(&out[i], src + 4 * i, 4); break;
        case ML_ST_F64: { double v; memcpy(&v, src + 8 * i, 8); out[i] = (float)v; break; }
        case ML_ST_F16: { uint16_t h; memcpy(&h, src + 2 * i, 2); out[i] = half_to_f32(h); break; }
        case ML_ST_BF16: { uint16_t h; memcpy(&h, src + 2 * i, 2); uint32_t u = (uint32_t)h << 16; memcpy(&out[i], &u, 4); break; }
        default: ml_die("%s: tensor '%s' is an integer tensor, expected floating point", f->path, name);
        }
    }
    return out;
}

int64_t ml_st_int_at(const ml_st_file *f, const ml_st_entry *t, size_t i) {
    if (t->dtype == ML_ST_I64) {
        int64_t v;
        memcpy(&v, f->data + t->offset + 8 * i, 8); /* unaligned: memcpy */
        return v;
    }
    int32_t v;
    memcpy(&v, f->data + t->offset + 4 * i, 4);
    return v;
}
