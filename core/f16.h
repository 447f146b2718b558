/* Half-precision conversions, inline so that the conversion loops in
 * core/gguf_dtype.c vectorise. IEEE binary16 (f16) and bfloat16 (bf16), both
 * rounding to nearest, ties to even; NaN stays NaN (quiet), infinities stay
 * infinite, f16 subnormals are produced and read exactly. */
#ifndef TESSERA_CORE_F16_H
#define TESSERA_CORE_F16_H

#include <stdint.h>
#include <string.h>

static inline uint32_t ts_f32_bits_(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float ts_bits_f32_(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* After F. Giesen's float_to_half_fast3_rtne: the subnormal range is rounded
 * by the FPU itself (adding a magic number whose ulp is the f16 subnormal
 * step); the normal range by adding half an f16 ulp (minus one, plus the
 * kept mantissa's lowest bit for ties to even) before truncating. */
static inline uint16_t ts_f16_from_f32_(float f) {
    uint32_t x = ts_f32_bits_(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    x &= 0x7fffffffu;
    uint32_t o;
    if (x >= 0x47800000u) { /* >= 65536: inf, or NaN */
        o = x > 0x7f800000u ? 0x7e00u : 0x7c00u;
    } else if (x < 0x38800000u) { /* < 2^-14: f16 subnormal or zero */
        const float magic = 0.5f; /* 2^-1: its ulp is 2^-24 */
        o = ts_f32_bits_(ts_bits_f32_(x) + magic) - ts_f32_bits_(magic);
    } else { /* normal; [65520, 65536) carries into inf */
        uint32_t odd = (x >> 13) & 1u;
        x += 0xc8000fffu + odd; /* rebias exponent 127 -> 15, round */
        o = x >> 13;
    }
    return (uint16_t)(o | sign);
}

/* Branch-free (selects only), so that decoding loops vectorise. */
static inline float ts_f16_to_f32_(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu;
    uint32_t normal = (em << 13) + 0x38000000u;        /* rebias exponent 15 -> 127 */
    uint32_t infnan = (em << 13) | 0x7f800000u;        /* keeps the NaN payload */
    uint32_t sub = ts_f32_bits_((float)em * 0x1p-24f); /* subnormal or zero: exact */
    uint32_t r = em >= 0x7c00u ? infnan : em >= 0x0400u ? normal : sub;
    return ts_bits_f32_(r | sign);
}

static inline uint16_t ts_bf16_from_f32_(float f) {
    uint32_t x = ts_f32_bits_(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40u); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1u);
    return (uint16_t)(x >> 16);
}

static inline float ts_bf16_to_f32_(uint16_t h) { return ts_bits_f32_((uint32_t)h << 16); }

#endif
