/* From decoded RGB to the model's input: fit (stretch, centre-crop, pad
 * with white) to a square, resample, normalise to [-1, 1], planar CHW.
 *
 * Resampling is separable, one axis plan per direction. An axis that
 * shrinks uses the exact box filter (area averaging): output o covers the
 * source interval [o s, (o+1) s), s = n_in / n_out, and each source pixel
 * weighs by the length of its overlap with that interval, so fractional
 * coverage at both ends is counted exactly. An axis that grows uses
 * bilinear interpolation with pixel centres at i + 0.5 (edges clamped).
 * Fitting is folded into the plans: a source coordinate v of the fitted
 * square maps to image pixel v - off; taps that fall outside the image
 * (padding) add their weight to the white term instead. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "vision/vision_internal.h"

typedef struct {
    int n_out, max_taps;
    int *first;   /* n_out: first image pixel of each output's taps */
    int *count;   /* n_out: number of taps inside the image */
    float *white; /* n_out: weight that falls on the padding */
    float *w;     /* n_out x max_taps */
} axis_plan;

static void plan_free(axis_plan *p) {
    free(p->first);
    memset(p, 0, sizeof *p);
}

/* n_virt: length of the fitted square's side in source pixels; the image
 * (n_img pixels) sits at offset off inside it (negative when cropped). */
static ts_status plan_axis(axis_plan *p, int n_virt, int n_img, int off, int n_out) {
    memset(p, 0, sizeof *p);
    bool shrink = n_virt >= n_out;
    double s = (double)n_virt / n_out;
    p->n_out = n_out;
    p->max_taps = shrink ? (int)ceil(s) + 1 : 2;
    size_t n = (size_t)n_out;
    /* one block: first, count (ints), white, w (floats) */
    char *mem = malloc(n * 2 * sizeof(int) + n * sizeof(float) + n * p->max_taps * sizeof(float));
    if (!mem) return TS_ERR_NOMEM;
    p->first = (int *)mem;
    p->count = p->first + n;
    p->white = (float *)(p->count + n);
    p->w = p->white + n;
    for (int o = 0; o < n_out; o++) {
        float *w = p->w + (size_t)o * p->max_taps;
        int lo, hi; /* virtual source range [lo, hi) */
        double wv[2];
        if (shrink) {
            double a = o * s, b = (o + 1) * s;
            lo = (int)floor(a);
            hi = (int)ceil(b);
            if (hi > n_virt) hi = n_virt;
            if (hi - lo > p->max_taps) hi = lo + p->max_taps;
        } else {
            double c = (o + 0.5) * s - 0.5;
            if (c < 0) c = 0;
            lo = (int)floor(c);
            if (lo > n_virt - 1) lo = n_virt - 1;
            double f = c - lo;
            hi = lo + 2 <= n_virt ? lo + 2 : lo + 1;
            wv[0] = hi - lo == 2 ? 1.0 - f : 1.0;
            wv[1] = f;
        }
        double white = 0;
        int first = -1, count = 0;
        for (int v = lo; v < hi; v++) {
            double wt;
            if (shrink) {
                double a = o * s, b = (o + 1) * s;
                double l = v > a ? v : a, r = v + 1 < b ? v + 1 : b;
                wt = (r - l) / s;
            } else {
                wt = wv[v - lo];
            }
            int i = v - off;
            if (i < 0 || i >= n_img) {
                white += wt;
                continue;
            }
            if (first < 0) first = i;
            w[count++] = (float)wt;
        }
        p->first[o] = first < 0 ? 0 : first;
        p->count[o] = count;
        p->white[o] = (float)white;
    }
    return TS_OK;
}

/* Normalised value of an 8-bit level: v / 127.5 - 1. */
#define NORM_SCALE (1.0f / 127.5f)

static inline float clamp_norm(float v) {
    v = v * NORM_SCALE - 1.0f;
    return v < -1.0f ? -1.0f : v > 1.0f ? 1.0f : v;
}

/* RGBRGB... bytes to three planes of v / 127.5 - 1: the whole of the work
 * for an image already at the model's size. With AVX2, 8 pixels at a time:
 * two loads cover their 24 bytes, byte shuffles gather each channel, then
 * widen to float. mul then sub, like the scalar tail, so both give the same
 * bits. */
static void deinterleave_normalise(const uint8_t *restrict p, float *restrict out, size_t n) {
    float *restrict o0 = out, *restrict o1 = out + n, *restrict o2 = out + 2 * n;
    size_t i = 0;
#if defined(__AVX2__)
    const __m128i ra = _mm_setr_epi8(0, 3, 6, 9, 12, 15, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i rb = _mm_setr_epi8(-1, -1, -1, -1, -1, -1, 2, 5, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i ga = _mm_setr_epi8(1, 4, 7, 10, 13, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i gb = _mm_setr_epi8(-1, -1, -1, -1, -1, 0, 3, 6, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i ba = _mm_setr_epi8(2, 5, 8, 11, 14, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m128i bb = _mm_setr_epi8(-1, -1, -1, -1, -1, 1, 4, 7, -1, -1, -1, -1, -1, -1, -1, -1);
    const __m256 scale = _mm256_set1_ps(NORM_SCALE), one = _mm256_set1_ps(1.0f);
    for (; i + 8 <= n; i += 8) {
        __m128i a = _mm_loadu_si128((const __m128i *)(p + 3 * i));      /* bytes 0..15 */
        __m128i b = _mm_loadl_epi64((const __m128i *)(p + 3 * i + 16)); /* bytes 16..23 */
        __m128i r = _mm_or_si128(_mm_shuffle_epi8(a, ra), _mm_shuffle_epi8(b, rb));
        __m128i g = _mm_or_si128(_mm_shuffle_epi8(a, ga), _mm_shuffle_epi8(b, gb));
        __m128i bl = _mm_or_si128(_mm_shuffle_epi8(a, ba), _mm_shuffle_epi8(b, bb));
#define TS_NORM8(v)                                                                                \
    _mm256_sub_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)), scale), one)
        _mm256_storeu_ps(o0 + i, TS_NORM8(r));
        _mm256_storeu_ps(o1 + i, TS_NORM8(g));
        _mm256_storeu_ps(o2 + i, TS_NORM8(bl));
#undef TS_NORM8
    }
#endif
    for (; i < n; i++) {
        o0[i] = p[3 * i] * NORM_SCALE - 1.0f;
        o1[i] = p[3 * i + 1] * NORM_SCALE - 1.0f;
        o2[i] = p[3 * i + 2] * NORM_SCALE - 1.0f;
    }
}

ts_status ts_image_to_input(const ts_image *img, int size, ts_image_fit fit, float *out) {
    if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
        return ts_fail(TS_ERR_USAGE, "image to input: no image");
    if (size <= 0 || size > 4096)
        return ts_fail(TS_ERR_USAGE, "image to input: size %d is not in [1, 4096]", size);
    if (fit != TS_FIT_STRETCH && fit != TS_FIT_CROP && fit != TS_FIT_PAD)
        return ts_fail(TS_ERR_USAGE, "image to input: unknown fit %d", (int)fit);
    const int w = img->width, h = img->height;
    const size_t plane = (size_t)size * size;
    if (w == size && h == size) {
        /* The common case (CIFAR): nothing to resample, whatever the fit. */
        deinterleave_normalise(img->rgb, out, plane);
        return TS_OK;
    }
    int vx = w, vy = h, ox = 0, oy = 0; /* the fitted square in source pixels */
    if (fit == TS_FIT_CROP) {
        int side = w < h ? w : h;
        ox = -((w - side) / 2), oy = -((h - side) / 2);
        vx = vy = side;
    } else if (fit == TS_FIT_PAD) {
        int side = w > h ? w : h;
        ox = (side - w) / 2, oy = (side - h) / 2;
        vx = vy = side;
    }
    axis_plan px, py;
    ts_status s = plan_axis(&px, vx, w, ox, size);
    if (!s) s = plan_axis(&py, vy, h, oy, size);
    float *row = s ? NULL : ts_alloc_floats((size_t)w * 3);
    if (!row) {
        plan_free(&px);
        if (!s) plan_free(&py);
        return ts_fail(TS_ERR_NOMEM, "image to input: out of memory");
    }
    const size_t stride = (size_t)w * 3;
    for (int oy_ = 0; oy_ < size; oy_++) {
        /* vertical pass: one row of w x 3 floats, in 0..255 */
        const float *wy = py.w + (size_t)oy_ * py.max_taps;
        const float wy_white = py.white[oy_] * 255.0f;
        for (size_t i = 0; i < stride; i++)
            row[i] = wy_white;
        for (int k = 0; k < py.count[oy_]; k++) {
            const uint8_t *src = img->rgb + (size_t)(py.first[oy_] + k) * stride;
            const float wk = wy[k];
            for (size_t i = 0; i < stride; i++)
                row[i] += wk * src[i];
        }
        /* horizontal pass, then normalise into the three planes */
        float *o0 = out + (size_t)oy_ * size, *o1 = o0 + plane, *o2 = o1 + plane;
        for (int ox_ = 0; ox_ < size; ox_++) {
            const float *wx = px.w + (size_t)ox_ * px.max_taps;
            const float white = px.white[ox_] * 255.0f;
            float r = white, g = white, b = white;
            const float *p = row + (size_t)px.first[ox_] * 3;
            for (int k = 0; k < px.count[ox_]; k++, p += 3) {
                r += wx[k] * p[0];
                g += wx[k] * p[1];
                b += wx[k] * p[2];
            }
            /* weights sum to 1 only up to rounding: keep inside [-1, 1] */
            o0[ox_] = clamp_norm(r);
            o1[ox_] = clamp_norm(g);
            o2[ox_] = clamp_norm(b);
        }
    }
    free(row);
    plan_free(&px);
    plan_free(&py);
    return TS_OK;
}
