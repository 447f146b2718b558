/* Augmented copies of the corpus's train items: image shifts and mirror
 * images, and clip speed, gain, shift and noise (see fusion/augment.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/augment.h"
#include "tessera/audio.h"

/* splitmix64's finaliser: nearby (source, index, copy) give unrelated seeds */
static uint64_t mix(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t aug_seed(uint64_t corpus_seed, int source, int64_t index, int copy) {
    uint64_t h = mix(corpus_seed ^ 0x6175676d656e74ull); /* "augment" */
    h = mix(h ^ (uint64_t)(uint32_t)source);
    h = mix(h ^ (uint64_t)index);
    return mix(h ^ (uint64_t)(uint32_t)copy);
}

static int clampi(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

void aug_image_transform(const float *in, int S, bool flip, int dx, int dy, bool edge, float fill,
                         float *out) {
    for (int ch = 0; ch < 3; ch++) {
        const float *src = in + (size_t)ch * S * S;
        float *dst = out + (size_t)ch * S * S;
        for (int y = 0; y < S; y++) {
            int sy = y - dy;
            bool oy = sy < 0 || sy >= S;
            sy = clampi(sy, 0, S - 1);
            for (int x = 0; x < S; x++) {
                /* the mirror image (if any) moved dx right */
                int sx = flip ? S - 1 - (x - dx) : x - dx;
                bool ox = sx < 0 || sx >= S;
                sx = clampi(sx, 0, S - 1);
                dst[(size_t)y * S + x] = (oy || ox) && !edge ? fill : src[(size_t)sy * S + sx];
            }
        }
    }
}

ts_status aug_image_random(ts_rng *r, float *img, int S, bool flip, bool edge, float fill) {
    int span = 2 * AUG_MAX_SHIFT_PX + 1;
    int dx = (int)ts_rng_below(r, (uint32_t)span) - AUG_MAX_SHIFT_PX;
    int dy = (int)ts_rng_below(r, (uint32_t)span) - AUG_MAX_SHIFT_PX;
    size_t n = (size_t)3 * S * S;
    float *tmp = malloc(sizeof *tmp * n);
    if (!tmp) return ts_fail(TS_ERR_NOMEM, "augment: out of memory");
    aug_image_transform(img, S, flip, dx, dy, edge, fill, tmp);
    memcpy(img, tmp, sizeof *tmp * n);
    free(tmp);
    return TS_OK;
}

ts_status aug_speed(const float *x, size_t n, float factor, float **out, size_t *n_out) {
    int rate = (int)lround((double)factor * TS_SAMPLE_RATE);
    return ts_resample_to_16k(x, n, rate, out, n_out);
}

ts_status aug_narrowband(const float *x, size_t n, float **out, size_t *n_out) {
    /* read as 32 kHz, 16 kHz out is the clip at 8 kHz: soxr's filter cuts
     * at 4 kHz of the real rate; read that as 8 kHz, and it comes back */
    float *half;
    size_t n_half;
    ts_status s = ts_resample_to_16k(x, n, 2 * TS_SAMPLE_RATE, &half, &n_half);
    if (s) return s;
    s = ts_resample_to_16k(half, n_half, TS_SAMPLE_RATE / 2, out, n_out);
    free(half);
    return s;
}

static float clip1(float v) { return v > 1.0f ? 1.0f : v < -1.0f ? -1.0f : v; }

void aug_gain(float *x, size_t n, float db) {
    float g = powf(10.0f, db / 20.0f);
    for (size_t i = 0; i < n; i++)
        x[i] = clip1(x[i] * g);
}

void aug_shift(float *x, size_t n, long shift) {
    size_t k = (size_t)labs(shift);
    if (k >= n) {
        memset(x, 0, sizeof *x * n);
        return;
    }
    if (shift > 0) {
        memmove(x + k, x, sizeof *x * (n - k));
        memset(x, 0, sizeof *x * k);
    } else if (shift < 0) {
        memmove(x, x + k, sizeof *x * (n - k));
        memset(x + n - k, 0, sizeof *x * k);
    }
}

static double power(const float *x, size_t n) {
    double p = 0;
    for (size_t i = 0; i < n; i++)
        p += (double)x[i] * x[i];
    return n ? p / (double)n : 0;
}

void aug_add_noise(float *x, size_t n, const float *noise, float snr_db) {
    double ps = power(x, n), pn = power(noise, n);
    if (ps <= 0 || pn <= 0) return;
    float g = (float)sqrt(ps / (pn * pow(10.0, snr_db / 10.0)));
    for (size_t i = 0; i < n; i++)
        x[i] = clip1(x[i] + g * noise[i]);
}

/* n samples of noise: a slice of a recorded clip (wrapping round a short
 * one), or white noise */
static void noise_slice(ts_rng *r, const aug_noise *nz, float *out, size_t n) {
    if (!nz || nz->count <= 0) {
        for (size_t i = 0; i < n; i++)
            out[i] = ts_rng_normal(r);
        return;
    }
    int k = (int)ts_rng_below(r, (uint32_t)nz->count);
    const float *clip = nz->clips[k];
    size_t len = nz->len[k];
    if (!len) {
        memset(out, 0, sizeof *out * n);
        return;
    }
    size_t off = len > n ? (size_t)(ts_rng_uniform(r) * (float)(len - n)) : 0;
    for (size_t i = 0; i < n; i++)
        out[i] = clip[(off + i) % len];
}

static float uniform(ts_rng *r, float lo, float hi) { return lo + (hi - lo) * ts_rng_uniform(r); }

ts_status aug_audio_random(ts_rng *r, const aug_noise *noise, float narrow, const float *x,
                           size_t n, float **out, size_t *n_out) {
    *out = NULL, *n_out = 0;
    /* every draw happens whatever the clip, so one copy's choices do not
     * depend on another's */
    float factor = uniform(r, AUG_SPEED_MIN, AUG_SPEED_MAX);
    float db = uniform(r, -AUG_GAIN_DB, AUG_GAIN_DB);
    long max_shift = lroundf(AUG_SHIFT_SECONDS * TS_SAMPLE_RATE);
    long shift = (long)ts_rng_below(r, (uint32_t)(2 * max_shift + 1)) - max_shift;
    bool noisy = ts_rng_uniform(r) < 0.5f;
    float snr = uniform(r, AUG_SNR_MIN_DB, AUG_SNR_MAX_DB);
    bool phone = narrow > 0 && ts_rng_uniform(r) < narrow;
    float *y;
    size_t m;
    ts_status s = aug_speed(x, n, factor, &y, &m);
    if (s) return s;
    aug_gain(y, m, db);
    aug_shift(y, m, shift);
    if (noisy && m) {
        float *nz = malloc(sizeof *nz * m);
        if (!nz) {
            free(y);
            return ts_fail(TS_ERR_NOMEM, "augment: out of memory");
        }
        noise_slice(r, noise, nz, m);
        aug_add_noise(y, m, nz, snr);
        free(nz);
    }
    if (phone && m) {
        float *band;
        s = aug_narrowband(y, m, &band, &m);
        free(y);
        if (s) return s;
        y = band;
    }
    *out = y, *n_out = m;
    return TS_OK;
}
