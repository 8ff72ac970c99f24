/* An embed output folder remembers what it was made from, so that a second
 * `monolab embed` of another input or with other settings into the same
 * folder (by -o, or by the default name: every sweep's final checkpoint of a
 * run is step_NNNNNN.safetensors) is refused instead of silently replacing
 * the first one's results. */
#ifndef MONOLAB_EMBED_PIN_H
#define MONOLAB_EMBED_PIN_H
#include "monolab/embed_layer.h"
#include <stddef.h>

/* Exits 2 (one line, nothing written, naming the -o that would be free)
 * when outdir holds embed outputs of another input or other settings, or
 * outputs that recorded none. The same input and settings again pass: the
 * folder is rebuilt in place. */
void ml_embed_pin_check(const char *outdir, const char *input, const ml_embed_opts *o);
/* 1 when outdir is free for this embedding: no embed output, or this
 * input's with these settings. */
int ml_embed_pin_usable(const char *outdir, const char *input, const ml_embed_opts *o);
/* The default OUTDIR when taken by another embedding: the first free
 * OUTDIR_2, OUTDIR_3, ..., said on stderr. */
void ml_embed_pin_default(char *outdir, size_t n, const char *input, const ml_embed_opts *o);
/* Creates outdir and writes outdir/embed_settings.txt: the input's absolute
 * path and every option, one key=value a line. */
void ml_embed_pin_write(const char *outdir, const char *input, const ml_embed_opts *o);
/* Reads outdir/embed_settings.txt back: the input (as recorded: absolute)
 * into input, every option into *o. Exits 2 naming the file and line. */
void ml_embed_settings_read(const char *outdir, char *input, size_t input_n, ml_embed_opts *o);

#endif
