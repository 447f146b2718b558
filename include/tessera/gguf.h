/* GGUF v3 files (core/gguf*.c): typed key/value metadata and tensors. */
#ifndef TESSERA_GGUF_H
#define TESSERA_GGUF_H

#include "tessera/core.h"

/* Value types, numbered as in the GGUF specification. */
typedef enum {
    TS_GGUF_U8 = 0, TS_GGUF_I8 = 1, TS_GGUF_U16 = 2, TS_GGUF_I16 = 3,
    TS_GGUF_U32 = 4, TS_GGUF_I32 = 5, TS_GGUF_F32 = 6, TS_GGUF_BOOL = 7,
    TS_GGUF_STRING = 8, TS_GGUF_ARRAY = 9, TS_GGUF_U64 = 10, TS_GGUF_I64 = 11,
    TS_GGUF_F64 = 12,
} ts_gguf_type;

/* Tensor element types, numbered as ggml numbers them. */
typedef enum {
    TS_DTYPE_F32 = 0,
    TS_DTYPE_F16 = 1,
    TS_DTYPE_Q8_0 = 8, /* blocks of 32: one f16 scale, 32 int8 */
    TS_DTYPE_BF16 = 30,
} ts_dtype;

#define TS_GGUF_MAX_DIMS 4
#define TS_GGUF_ALIGNMENT 32

/* ---- writing ---------------------------------------------------------- */
typedef struct ts_gguf_writer ts_gguf_writer;
ts_gguf_writer *ts_gguf_writer_new(void);
void ts_gguf_writer_free(ts_gguf_writer *w);
/* Keys are copied. Setting a key twice replaces the value. */
void ts_gguf_set_u8(ts_gguf_writer *w, const char *key, uint8_t v);
void ts_gguf_set_i8(ts_gguf_writer *w, const char *key, int8_t v);
void ts_gguf_set_u16(ts_gguf_writer *w, const char *key, uint16_t v);
void ts_gguf_set_i16(ts_gguf_writer *w, const char *key, int16_t v);
void ts_gguf_set_u32(ts_gguf_writer *w, const char *key, uint32_t v);
void ts_gguf_set_i32(ts_gguf_writer *w, const char *key, int32_t v);
void ts_gguf_set_u64(ts_gguf_writer *w, const char *key, uint64_t v);
void ts_gguf_set_i64(ts_gguf_writer *w, const char *key, int64_t v);
void ts_gguf_set_f32(ts_gguf_writer *w, const char *key, float v);
void ts_gguf_set_f64(ts_gguf_writer *w, const char *key, double v);
void ts_gguf_set_bool(ts_gguf_writer *w, const char *key, bool v);
void ts_gguf_set_str(ts_gguf_writer *w, const char *key, const char *v);
/* Array of a scalar type: n elements of elem_type packed as in the file. */
void ts_gguf_set_arr(ts_gguf_writer *w, const char *key, ts_gguf_type elem_type, const void *data,
                     size_t n);
void ts_gguf_set_arr_str(ts_gguf_writer *w, const char *key, const char *const *v, size_t n);
/* Adds a tensor given as f32 and stored as dtype (converted on write).
 * dims[0] is the fastest-varying (ggml order): a row-major matrix of R rows
 * and C columns has dims {C, R}. The data is copied. TS_ERR_USAGE for a
 * name that is empty, longer than 63 bytes (llama.cpp's limit) or already
 * added, 1 to 4 dims, q8_0 with dims[0] not a multiple of 32, and q8_0 data
 * holding inf, NaN or |x| > 8.3e6 (its f16 scale would overflow). f16 and
 * bf16 round to nearest even; q8_0 errs by at most half its block's scale. */
ts_status ts_gguf_add_tensor(ts_gguf_writer *w, const char *name, ts_dtype dtype,
                             const int64_t *dims, int n_dims, const float *data);
/* Writes the file atomically (temp file, then rename): keys and tensors in
 * the order they were added, tensor data aligned to general.alignment (a
 * u32 power of two if set, else 32) and padded to it, the last tensor too.
 * Reports the first failure of a setter (TS_ERR_USAGE / TS_ERR_NOMEM). */
ts_status ts_gguf_write(ts_gguf_writer *w, const char *path);

/* ---- reading ---------------------------------------------------------- */
typedef struct ts_gguf ts_gguf;

typedef struct {
    const char *name;
    ts_dtype dtype;
    int n_dims;
    int64_t dims[TS_GGUF_MAX_DIMS];
    int64_t n_elements;
    const void *data; /* points into the mapping */
    size_t n_bytes;
} ts_gguf_tensor;

/* Opens with mmap and validates every offset and size: on TS_OK nothing a
 * getter or a tensor's data pointer reaches lies outside the file. Bad
 * files give TS_ERR_INPUT and one line "PATH: problem". Value types and
 * tensor types other than those above, arrays of arrays, duplicate keys or
 * tensor names, overlapping tensors and big-endian files are refused. */
ts_status ts_gguf_open(const char *path, ts_gguf **out);
/* Parses a buffer that must outlive the returned handle (used by the fuzzer). */
ts_status ts_gguf_open_mem(const uint8_t *buf, size_t len, const char *name, ts_gguf **out);
void ts_gguf_close(ts_gguf *g);

int64_t ts_gguf_n_keys(const ts_gguf *g);
const char *ts_gguf_key_name(const ts_gguf *g, int64_t i);
ts_gguf_type ts_gguf_key_type(const ts_gguf *g, int64_t i);
int64_t ts_gguf_find_key(const ts_gguf *g, const char *key); /* -1 if absent */

/* Typed getters: fail (TS_ERR_INPUT, message names the key) when the key is
 * missing or has another type. Integer getters accept any integer type whose
 * value fits. */
ts_status ts_gguf_get_u32(const ts_gguf *g, const char *key, uint32_t *v);
ts_status ts_gguf_get_i32(const ts_gguf *g, const char *key, int32_t *v);
ts_status ts_gguf_get_u64(const ts_gguf *g, const char *key, uint64_t *v);
ts_status ts_gguf_get_i64(const ts_gguf *g, const char *key, int64_t *v);
/* Float getters accept f32 and f64 values. */
ts_status ts_gguf_get_f32(const ts_gguf *g, const char *key, float *v);
ts_status ts_gguf_get_f64(const ts_gguf *g, const char *key, double *v);
ts_status ts_gguf_get_bool(const ts_gguf *g, const char *key, bool *v);
/* The string is NUL-terminated copy owned by g. */
ts_status ts_gguf_get_str(const ts_gguf *g, const char *key, const char **v);
/* Arrays: element type and count; scalar data points into the mapping
 * (packed, little-endian, possibly unaligned: read with memcpy), NULL for
 * string arrays, whose elements come through ts_gguf_get_arr_str: *s is a
 * NUL-terminated copy owned by g, *len its length in bytes (len may be NULL;
 * a string may hold NUL bytes, so len is authoritative). */
ts_status ts_gguf_get_arr(const ts_gguf *g, const char *key, ts_gguf_type *elem_type,
                          const void **data, size_t *n);
ts_status ts_gguf_get_arr_str(const ts_gguf *g, const char *key, size_t i, const char **s,
                              size_t *len);

int64_t ts_gguf_n_tensors(const ts_gguf *g);
const ts_gguf_tensor *ts_gguf_tensor_at(const ts_gguf *g, int64_t i);
const ts_gguf_tensor *ts_gguf_find_tensor(const ts_gguf *g, const char *name); /* NULL if absent */
/* The alignment of the data section and of every tensor (general.alignment,
 * default 32). */
uint32_t ts_gguf_alignment(const ts_gguf *g);
/* Converts any supported dtype to f32; n must equal the tensor's n_elements. */
ts_status ts_gguf_tensor_to_f32(const ts_gguf_tensor *t, float *out, int64_t n);

const char *ts_dtype_name(ts_dtype t);
/* f16 / bf16 conversions (round to nearest even). */
uint16_t ts_f32_to_f16(float f);
float ts_f16_to_f32(uint16_t h);
uint16_t ts_f32_to_bf16(float f);
float ts_bf16_to_f32(uint16_t h);

#endif
