/* MNIST-format (IDX) files, gzipped or not, and the MNIST-style dataset
 * layout built from them: train/t10k images and labels in one folder. */
#ifndef MONOLAB_SAE_IDX_H
#define MONOLAB_SAE_IDX_H
#include <stdint.h>

/* One unsigned-byte IDX tensor: dims[0] items of dims[1]*...*dims[ndim-1]. */
typedef struct {
    int ndim;
    int64_t dims[4];
    int64_t count; /* product of dims */
    uint8_t *data;
} ml_idx;

/* Reads a whole file (plain or gzip, by content). Exits 2 naming the file
 * on a wrong magic number, an unsupported element type, a truncated body
 * or bytes past the end. */
void ml_idx_read(ml_idx *t, const char *path);
void ml_idx_free(ml_idx *t);

/* One split of an MNIST-style dataset: images scaled to [0, 1]. */
typedef struct {
    int n, dim;     /* examples, pixels per example */
    float *x;       /* [n][dim] */
    int *y;         /* [n], each in [0, n_classes) */
} ml_digits;

/* split: "train" or "t10k". Looks for DIR/<split>-images-idx3-ubyte and
 * -labels-idx1-ubyte, each with or without ".gz". Exits 2 naming the file
 * when one is missing or malformed, when the two counts differ, or when a
 * label is not below n_classes. */
void ml_digits_load(ml_digits *d, const char *dir, const char *split, int n_classes);
void ml_digits_free(ml_digits *d);

#endif
