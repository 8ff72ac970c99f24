/* A data script whose JSON travels gzip-compressed: `PREFIX"<base64>");`.
 * Browsers read such a script from file:// (a <script> tag, where fetch()
 * is blocked) and inflate it with DecompressionStream("gzip"); the JSON of
 * a block of neurons shrinks about 5x, base64 costs a third of that back. */
#include "monolab/common.h"
#include "monolab/explore.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(ml_sbuf *out, const unsigned char *p, size_t n) {
    char q[4];
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        q[0] = B64[v >> 18 & 63];
        q[1] = B64[v >> 12 & 63];
        q[2] = i + 1 < n ? B64[v >> 6 & 63] : '=';
        q[3] = i + 2 < n ? B64[v & 63] : '=';
        ml_sb_put(out, q, 4);
    }
}

void ml_explore_pack(ml_sbuf *out, const char *prefix, const char *json, size_t n) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16 /* gzip wrapper */, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        ml_fatal("explore: zlib cannot start");
    size_t cap = deflateBound(&z, (uLong)n);
    unsigned char *gz = ml_malloc(cap);
    z.next_in = (unsigned char *)json;
    z.avail_in = (uInt)n;
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) ml_fatal("explore: zlib cannot compress %zu bytes", n);
    out->n = 0;
    ml_sb_put(out, prefix, strlen(prefix));
    ml_sb_put(out, "\"", 1);
    base64(out, gz, z.total_out);
    ml_sb_put(out, "\");\n", 4);
    deflateEnd(&z);
    free(gz);
}
