/* safetensors files: an 8-byte little-endian header length, a JSON header
 * (cJSON) naming each tensor's dtype, shape and byte range, then the data.
 * The writer (src/safetensors_write.c) and the reader
 * (src/safetensors_read.c) share the dtype vocabulary below. */
#ifndef MONOLAB_SAFETENSORS_H
#define MONOLAB_SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

typedef enum { ML_ST_F32, ML_ST_F16, ML_ST_BF16, ML_ST_F64, ML_ST_I64, ML_ST_I32, ML_ST_N_DTYPES } ml_st_dtype;

/* The dtype's name in a safetensors header, and its size in bytes. */
static inline const char *ml_st_dtype_name(ml_st_dtype d) {
    static const char *const NAMES[ML_ST_N_DTYPES] = {"F32", "F16", "BF16", "F64", "I64", "I32"};
    return NAMES[d];
}
static inline size_t ml_st_dtype_size(ml_st_dtype d) {
    static const unsigned char SIZES[ML_ST_N_DTYPES] = {4, 2, 2, 8, 8, 4};
    return SIZES[d];
}

/* ---- writing ---- */
typedef struct {
    const char *name;
    ml_st_dtype dtype;
    int ndim;
    int64_t shape[4];
    const void *data;
} ml_st_tensor;

/* Writes atomically (temp file, fsync, rename): a reader never sees a
 * half-written checkpoint. meta is NULL or n_meta key/value pairs. */
void ml_st_write(const char *path, int n, const ml_st_tensor *tensors, int n_meta, const char *const *meta_kv);

/* ---- reading ---- */
typedef struct {
    char *name;
    ml_st_dtype dtype;
    int ndim;
    int64_t shape[8];
    size_t offset, nbytes; /* into the data section */
} ml_st_entry;

typedef struct {
    char *path;
    void *map;
    size_t size;
    const uint8_t *data; /* start of the data section */
    size_t data_size;
    int n;
    ml_st_entry *t;
    void *meta; /* cJSON object or NULL */
    void *root; /* header while parsing (freed on success) */
    char err[512];
} ml_st_file;

/* Memory-maps and validates the whole header: every dtype, shape and offset
 * is checked before any tensor is touched. Bad files exit 2 with one line
 * naming the file and the tensor. */
void ml_st_open(ml_st_file *f, const char *path);
/* The validation alone, on bytes in memory (f zeroed, f->path set or NULL):
 * 0, or -1 with the message in f->err. ml_st_close frees either way. */
int ml_st_parse(ml_st_file *f, const uint8_t *bytes, size_t size);
void ml_st_close(ml_st_file *f);
const ml_st_entry *ml_st_find(const ml_st_file *f, const char *name);
/* The tensor converted to a new float array. want_ndim/want_shape (entries
 * < 0 match anything) are checked; missing tensors exit 2 unless optional,
 * in which case NULL is returned. */
float *ml_st_get_f32(const ml_st_file *f, const char *name, int want_ndim, const int64_t *want_shape, int optional);
const char *ml_st_meta(const ml_st_file *f, const char *key);
/* Element i of integer tensor t (I64 or I32; the caller checked which),
 * widened to int64: doc_index and token_ids come in either. */
int64_t ml_st_int_at(const ml_st_file *f, const ml_st_entry *t, size_t i);

#endif
