/* libFuzzer target for the safetensors reader: parse and validate any
 * bytes, then convert every floating-point tensor. Build and run with
 * `make fuzz` (clang, ASan + UBSan); the seed corpus is tests/fuzz/corpus. */
#include "monolab/safetensors.h"
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ml_st_file f;
    memset(&f, 0, sizeof f);
    if (ml_st_parse(&f, data, size) == 0) {
        for (int i = 0; i < f.n; i++) {
            ml_st_dtype dt = f.t[i].dtype;
            if (dt == ML_ST_F32 || dt == ML_ST_F16 || dt == ML_ST_BF16 || dt == ML_ST_F64)
                free(ml_st_get_f32(&f, f.t[i].name, -1, NULL, 0));
        }
        (void)ml_st_meta(&f, "model");
    }
    ml_st_close(&f);
    return 0;
}
