/* Tensor element types: their layout, and conversion from and to f32.
 *
 * q8_0 is ggml's block_q8_0: per 32 consecutive elements one f16 scale d and
 * 32 int8 q, x ≈ d * q. ggml picks d = max|x| / 127 and rounds it to f16
 * afterwards, so its error can exceed d/2; here the f16 scale is rounded UP
 * and q = round(x / d) computed from the stored scale, so |q| <= 127 and the
 * error is at most d/2 for every element. Readers (ggml included) decode
 * both the same way. */
#include "core/gguf_internal.h"

#include <math.h>

#include "core/f16.h"

#if defined(__F16C__) && defined(__AVX__)
#include <immintrin.h>
#define TS_HAVE_F16C 1 /* x86 half conversion instructions: 8 at a time, same rounding */
#endif

size_t ts_gguf_scalar_size_(uint32_t t) {
    switch (t) {
    case TS_GGUF_U8:
    case TS_GGUF_I8:
    case TS_GGUF_BOOL:
        return 1;
    case TS_GGUF_U16:
    case TS_GGUF_I16:
        return 2;
    case TS_GGUF_U32:
    case TS_GGUF_I32:
    case TS_GGUF_F32:
        return 4;
    case TS_GGUF_U64:
    case TS_GGUF_I64:
    case TS_GGUF_F64:
        return 8;
    default:
        return 0;
    }
}

const char *ts_gguf_type_name_(uint32_t t) {
    static const char *const names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                        "bool", "string", "array", "u64", "i64", "f64"};
    return t < sizeof names / sizeof *names ? names[t] : "unknown";
}

const char *ts_dtype_name(ts_dtype t) {
    switch (t) {
    case TS_DTYPE_F32:
        return "f32";
    case TS_DTYPE_F16:
        return "f16";
    case TS_DTYPE_Q8_0:
        return "q8_0";
    case TS_DTYPE_BF16:
        return "bf16";
    }
    return "unknown";
}

bool ts_dtype_layout_(uint32_t t, int64_t *block, size_t *block_bytes) {
    switch (t) {
    case TS_DTYPE_F32:
        *block = 1, *block_bytes = 4;
        return true;
    case TS_DTYPE_F16:
    case TS_DTYPE_BF16:
        *block = 1, *block_bytes = 2;
        return true;
    case TS_DTYPE_Q8_0:
        *block = TS_Q8_0_BLOCK, *block_bytes = TS_Q8_0_BYTES;
        return true;
    default:
        return false;
    }
}

size_t ts_dtype_bytes_(ts_dtype t, int64_t n) {
    int64_t block;
    size_t bb;
    if (!ts_dtype_layout_(t, &block, &bb)) return 0;
    return (size_t)(n / block) * bb;
}

static ts_status q8_0_encode(const float *x, int64_t n, uint8_t *dst, const char *what) {
    for (int64_t b = 0; b < n / TS_Q8_0_BLOCK; b++) {
        const float *xb = x + b * TS_Q8_0_BLOCK;
        uint8_t *yb = dst + b * TS_Q8_0_BYTES;
        float amax = 0.0f;
        for (int j = 0; j < TS_Q8_0_BLOCK; j++) {
            float a = fabsf(xb[j]);
            if (!(a <= 3.4e38f)) /* inf or NaN */
                return ts_fail(TS_ERR_USAGE, "%s: q8_0 cannot store inf or NaN (element %lld)",
                               what, (long long)(b * TS_Q8_0_BLOCK + j));
            amax = a > amax ? a : amax;
        }
        float d = amax / 127.0f;
        if (d > 65504.0f)
            return ts_fail(TS_ERR_USAGE,
                           "%s: q8_0 cannot store magnitude %g (element block %lld): its scale "
                           "overflows f16",
                           what, (double)amax, (long long)b);
        uint16_t h = ts_f16_from_f32_(d);
        if (ts_f16_to_f32_(h) < d) h++; /* positive: the next code is the next larger value */
        float d16 = ts_f16_to_f32_(h);
        memcpy(yb, &h, 2);
        for (int j = 0; j < TS_Q8_0_BLOCK; j++) {
            float q = d16 > 0.0f ? roundf(xb[j] / d16) : 0.0f;
            q = q > 127.0f ? 127.0f : q < -127.0f ? -127.0f : q;
            yb[2 + j] = (uint8_t)(int8_t)q;
        }
    }
    return TS_OK;
}

ts_status ts_dtype_encode_(ts_dtype t, const float *src, int64_t n, uint8_t *dst,
                           const char *what) {
    switch (t) {
    case TS_DTYPE_F32:
        memcpy(dst, src, (size_t)n * 4);
        return TS_OK;
    case TS_DTYPE_F16: {
        int64_t i = 0;
#ifdef TS_HAVE_F16C
        for (; i + 8 <= n; i += 8)
            _mm_storeu_si128((__m128i *)(dst + 2 * i),
                             _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
#endif
        for (; i < n; i++) {
            uint16_t h = ts_f16_from_f32_(src[i]);
            memcpy(dst + 2 * i, &h, 2);
        }
        return TS_OK;
    }
    case TS_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = ts_bf16_from_f32_(src[i]);
            memcpy(dst + 2 * i, &h, 2);
        }
        return TS_OK;
    case TS_DTYPE_Q8_0:
        return q8_0_encode(src, n, dst, what);
    }
    return ts_fail(TS_ERR_INTERNAL, "%s: unknown dtype %d", what, (int)t);
}

void ts_dtype_decode_(ts_dtype t, const uint8_t *src, int64_t n, float *dst) {
    switch (t) {
    case TS_DTYPE_F32:
        memcpy(dst, src, (size_t)n * 4);
        return;
    case TS_DTYPE_F16: {
        int64_t i = 0;
#ifdef TS_HAVE_F16C
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(dst + i,
                             _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + 2 * i))));
#endif
        for (; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = ts_f16_to_f32_(h);
        }
        return;
    }
    case TS_DTYPE_BF16:
        for (int64_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            dst[i] = ts_bf16_to_f32_(h);
        }
        return;
    case TS_DTYPE_Q8_0:
        for (int64_t b = 0; b < n / TS_Q8_0_BLOCK; b++) {
            const uint8_t *xb = src + b * TS_Q8_0_BYTES;
            float *yb = dst + b * TS_Q8_0_BLOCK;
            uint16_t h;
            memcpy(&h, xb, 2);
            float d = ts_f16_to_f32_(h);
            for (int j = 0; j < TS_Q8_0_BLOCK; j++)
                yb[j] = d * (float)(int8_t)xb[2 + j];
        }
        return;
    }
}
