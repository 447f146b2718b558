/* Shared by core/gguf_read.c, core/gguf_write.c and core/gguf_dtype.c. */
#ifndef TESSERA_CORE_GGUF_INTERNAL_H
#define TESSERA_CORE_GGUF_INTERNAL_H

#include "tessera/gguf.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "GGUF files are little-endian; tessera reads them on little-endian hosts only"
#endif

#define TS_GGUF_MAGIC "GGUF"
#define TS_GGUF_VERSION 3u
/* ggml's GGML_MAX_NAME counts the NUL: llama.cpp refuses longer names. */
#define TS_GGUF_MAX_NAME 63
#define TS_Q8_0_BLOCK 32
#define TS_Q8_0_BYTES 34 /* f16 scale + 32 int8 */

/* Size in the file of one scalar value of type t; 0 for string, array and
 * unknown types. */
size_t ts_gguf_scalar_size_(uint32_t t);
const char *ts_gguf_type_name_(uint32_t t);

/* Elements per block and bytes per block of a tensor type; false when the
 * type is not one tessera stores (f32, f16, q8_0, bf16). */
bool ts_dtype_layout_(uint32_t t, int64_t *block, size_t *block_bytes);
/* Bytes of n elements (n a multiple of the block size, not overflowing). */
size_t ts_dtype_bytes_(ts_dtype t, int64_t n);
/* Encodes n floats as dtype t into dst (ts_dtype_bytes_(t, n) bytes). Fails
 * with TS_ERR_USAGE only for q8_0 blocks holding inf, NaN or a magnitude
 * whose scale does not fit an f16 (> 65504 * 127). */
ts_status ts_dtype_encode_(ts_dtype t, const float *src, int64_t n, uint8_t *dst, const char *what);
void ts_dtype_decode_(ts_dtype t, const uint8_t *src, int64_t n, float *dst);

#endif
