/* Small files in the user's cache folder, $XDG_CACHE_HOME/monolab (or
 * ~/.cache/monolab): the self-test stamps (device_stamp.c) and the
 * measured training rates (device_rate.c). Reading and writing them is
 * never fatal: a cache that cannot be used costs a warning, not the
 * command. */
#ifndef MONOLAB_USER_CACHE_H
#define MONOLAB_USER_CACHE_H
#include <stddef.h>

/* The path of file name in the cache folder; 0 when neither
 * XDG_CACHE_HOME (absolute) nor HOME gives a folder. */
int ml_user_cache_path(const char *name, char *buf, size_t n);
/* The folder of path (a file in the cache folder), made (0700) if need
 * be; 0, or -1 with errno set. */
int ml_user_cache_make_folder(const char *path);
/* A regular file (not a link) into buf, NUL-terminated; its length, or -1. */
long ml_user_cache_read(const char *path, char *buf, size_t n);
/* text into path atomically (a temporary file, fsync, rename), the folder
 * made (0700) if need be; 0, or -1 with errno set. */
int ml_user_cache_write(const char *path, const char *text);

#endif
