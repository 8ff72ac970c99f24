/* The axes of a sweep's grid (src/config_axes.c): every key given a list
 * is an axis of its own, unless the config's `zip` links it with other
 * keys, whose values then vary together (the i-th value of each). The grid
 * is the product of the axes and the seeds. */
#ifndef MONOLAB_CONFIG_AXES_H
#define MONOLAB_CONFIG_AXES_H
#include "monolab/config_schema.h"
#include "monolab/strbuf.h"

#define ML_MAX_CONFIG_KEYS 64

typedef struct {
    int n_axes;
    int axis_of[ML_MAX_CONFIG_KEYS]; /* the axis of key i; -1: one value */
    int count[ML_MAX_CONFIG_KEYS];   /* the values of axis a */
    const ynode *zip;                /* the config's `zip`, or NULL */
} ml_config_axes;

/* The axes of the keys' values vals (ml_config_read's); checks the zip
 * (a list of lists of two or more known keys, each in one group, with
 * equally long lists) and dies with file:line and the key otherwise. */
void ml_config_axes_find(const ml_config_schema *s, const ynode *root, const ynode *const *vals, const char *file,
                         ml_config_axes *ax);
/* "zip: [[model.bias_offset, train.decay]]\n" for the resolved config;
 * nothing without a zip. */
void ml_config_axes_zip_yaml(const ml_config_axes *ax, ml_sbuf *b);
/* "model.k (2) x [model.bias_offset, train.decay] zipped (2) x seeds (2)"
 * for the plan. */
void ml_config_axes_describe(const ml_config_axes *ax, const ml_config_schema *s, long n_seeds, ml_sbuf *b);

#endif
