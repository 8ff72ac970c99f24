/* safetensors files: an 8-byte little-endian header length, a JSON header
 * (cJSON) naming each tensor's dtype, shape and byte range, then the data. */
#ifndef MONOLAB_SAFETENSORS_H
#define MONOLAB_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    const char *dtype; /* "F32", "F64", "I64" */
    int ndim;
    int64_t shape[4];
    const void *data;
} ml_st_tensor;

/* Writes atomically (temp file, fsync, rename): a reader never sees a
 * half-written checkpoint. meta is NULL or n_meta key/value pairs. */
void ml_st_write(const char *path, int n, const ml_st_tensor *tensors, int n_meta, const char *const *meta_kv);

#endif
