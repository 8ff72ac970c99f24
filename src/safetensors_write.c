/* safetensors writer: the JSON header by cJSON, data 8-byte aligned, the
 * whole file replaced atomically. */
#include "monolab/safetensors.h"
#include "monolab/common.h"
#include "monolab/fsutil.h"
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ml_st_write(const char *path, int n, const ml_st_tensor *t, int n_meta, const char *const *kv) {
    cJSON *root = cJSON_CreateObject();
    if (n_meta > 0) {
        cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
        for (int i = 0; i < n_meta; i++) cJSON_AddStringToObject(meta, kv[2 * i], kv[2 * i + 1]);
    }
    size_t *bytes = ml_malloc(sizeof(size_t) * (size_t)(n ? n : 1));
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        size_t cnt = 1;
        for (int d = 0; d < t[i].ndim; d++) cnt *= (size_t)t[i].shape[d];
        bytes[i] = cnt * ml_st_dtype_size(t[i].dtype);
        cJSON *e = cJSON_AddObjectToObject(root, t[i].name);
        cJSON_AddStringToObject(e, "dtype", ml_st_dtype_name(t[i].dtype));
        cJSON *shape = cJSON_AddArrayToObject(e, "shape");
        for (int d = 0; d < t[i].ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t[i].shape[d]));
        cJSON *offs = cJSON_AddArrayToObject(e, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes[i])));
        off += bytes[i];
    }
    char *json = cJSON_PrintUnformatted(root);
    size_t hl = strlen(json), padded = (hl + 7) & ~(size_t)7; /* 8-byte aligned data */
    ml_atomic_file f;
    ml_atomic_open(&f, path);
    uint8_t len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    ml_atomic_write(&f, len8, 8);
    ml_atomic_write(&f, json, hl);
    for (size_t i = hl; i < padded; i++) ml_atomic_write(&f, " ", 1);
    for (int i = 0; i < n; i++) ml_atomic_write(&f, t[i].data, bytes[i]);
    ml_atomic_commit(&f);
    free(json);
    free(bytes);
    cJSON_Delete(root);
}
