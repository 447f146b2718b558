/* libFuzzer target for the GGUF reader: parse a buffer, then touch
 * everything a caller can reach — every key through its typed getter, every
 * array element, every tensor converted to f32. A successful open promises
 * that none of this reads outside the buffer. */
#include "tessera.h"

#include <stdlib.h>
#include <string.h>

static volatile float sink;

static void touch_key(const ts_gguf *g, int64_t i) {
    const char *key = ts_gguf_key_name(g, i);
    if (!key || ts_gguf_find_key(g, key) != i) abort(); /* names are unique and found */
    uint64_t u;
    int64_t s;
    double d;
    bool b;
    const char *str;
    switch (ts_gguf_key_type(g, i)) {
    case TS_GGUF_U8: case TS_GGUF_U16: case TS_GGUF_U32: case TS_GGUF_U64:
        if (ts_gguf_get_u64(g, key, &u) != TS_OK) abort();
        (void)ts_gguf_get_u32(g, key, &(uint32_t){0});
        (void)ts_gguf_get_i32(g, key, &(int32_t){0});
        break;
    case TS_GGUF_I8: case TS_GGUF_I16: case TS_GGUF_I32: case TS_GGUF_I64:
        if (ts_gguf_get_i64(g, key, &s) != TS_OK) abort();
        (void)ts_gguf_get_u32(g, key, &(uint32_t){0});
        break;
    case TS_GGUF_F32: case TS_GGUF_F64:
        if (ts_gguf_get_f64(g, key, &d) != TS_OK) abort();
        sink += (float)d;
        break;
    case TS_GGUF_BOOL:
        if (ts_gguf_get_bool(g, key, &b) != TS_OK) abort();
        break;
    case TS_GGUF_STRING:
        if (ts_gguf_get_str(g, key, &str) != TS_OK) abort();
        sink += (float)strlen(str);
        break;
    case TS_GGUF_ARRAY: {
        ts_gguf_type et;
        const void *data;
        size_t n;
        if (ts_gguf_get_arr(g, key, &et, &data, &n) != TS_OK) abort();
        if (et == TS_GGUF_STRING) {
            for (size_t j = 0; j < n; j++) {
                size_t len;
                if (ts_gguf_get_arr_str(g, key, j, &str, &len) != TS_OK) abort();
                if (strlen(str) > len || str[len] != 0) abort();
            }
            if (ts_gguf_get_arr_str(g, key, n, &str, NULL) == TS_OK) abort();
        } else if (n) {
            const uint8_t *p = data; /* first and last byte of the elements */
            size_t es = et == TS_GGUF_U8 || et == TS_GGUF_I8 || et == TS_GGUF_BOOL ? 1
                        : et == TS_GGUF_U16 || et == TS_GGUF_I16                 ? 2
                        : et == TS_GGUF_U32 || et == TS_GGUF_I32 || et == TS_GGUF_F32 ? 4
                                                                                     : 8;
            sink += (float)(p[0] + p[n * es - 1]);
        }
        break;
    }
    default: abort(); /* the reader refuses unknown types */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ts_gguf *g = NULL;
    if (ts_gguf_open_mem(data, size, "fuzz.gguf", &g) != TS_OK) {
        if (g) abort();
        return 0;
    }
    for (int64_t i = 0; i < ts_gguf_n_keys(g); i++) touch_key(g, i);
    uint32_t align = ts_gguf_alignment(g);
    for (int64_t i = 0; i < ts_gguf_n_tensors(g); i++) {
        const ts_gguf_tensor *t = ts_gguf_tensor_at(g, i);
        if (ts_gguf_find_tensor(g, t->name) != t) abort();
        const uint8_t *p = t->data;
        if (p < data || p + t->n_bytes > data + size) abort();
        if ((size_t)(p - data) % align) abort(); /* data offsets are aligned in the file */
        float *out = malloc((size_t)t->n_elements * sizeof(float) + 1);
        if (!out) abort();
        if (ts_gguf_tensor_to_f32(t, out, t->n_elements) != TS_OK) abort();
        for (int64_t j = 0; j < t->n_elements; j++) sink += out[j];
        free(out);
    }
    ts_gguf_close(g);
    return 0;
}
