/* The log-mel as a picture: time left to right, band 0 (lowest frequency)
 * on the bottom row, coloured with a viridis-like map over the
 * spectrogram's own 2-unit range ((max - 8 + 4) / 4 .. (max + 4) / 4). */
#include <math.h>
#include <stdlib.h>

#include "tessera/audio.h"
#include "tessera/image.h"

/* Polynomial fit of matplotlib's viridis (t in [0, 1] -> linear RGB in
 * [0, 1]); coefficients from Matt Zucker's public fit. */
static void viridis(double t, uint8_t rgb[3]) {
    static const double c[7][3] = {
        {0.2777273272234177, 0.005407344544966578, 0.3340998053353061},
        {0.1050930431085774, 1.404613529898575, 1.384590162594685},
        {-0.3308618287255563, 0.214847559468213, 0.09509516302823659},
        {-4.634230498983486, -5.799100973351585, -19.33244095627987},
        {6.228269936347081, 14.17993336680509, 56.69055260068105},
        {4.776384997670288, -13.74514537774601, -65.35303263337234},
        {-5.435455855934631, 4.645852612178535, 26.3124352495832},
    };
    for (int ch = 0; ch < 3; ch++) {
        double v = c[6][ch];
        for (int i = 5; i >= 0; i--)
            v = v * t + c[i][ch];
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        rgb[ch] = (uint8_t)lrint(v * 255.0);
    }
}

ts_status ts_logmel_write_png(const char *path, const float *mel, int T) {
    if (T <= 0) return ts_fail(TS_ERR_USAGE, "%s: empty spectrogram", path);
    uint8_t lut[256][3];
    for (int i = 0; i < 256; i++)
        viridis(i / 255.0, lut[i]);
    size_t npx = (size_t)T * TS_N_MELS;
    float mx = -INFINITY;
    for (size_t i = 0; i < npx; i++)
        mx = mel[i] > mx ? mel[i] : mx;
    const float lo = mx - 2.0f; /* the clamp floor: (max - 8 + 4) / 4 */
    uint8_t *px = ts_alloc(npx, 3);
    if (!px)
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory for a %d x %d picture", path, T, TS_N_MELS);
    for (int b = 0; b < TS_N_MELS; b++) {
        const float *row = mel + (size_t)b * (size_t)T;
        uint8_t *out =
            px + (size_t)(TS_N_MELS - 1 - b) * (size_t)T * 3; /* low bands at the bottom */
        for (int t = 0; t < T; t++) {
            float u = (row[t] - lo) * (255.0f / 2.0f);
            int k = u >= 255.0f ? 255 : u > 0.0f ? (int)(u + 0.5f) : 0;
            out[3 * t] = lut[k][0];
            out[3 * t + 1] = lut[k][1];
            out[3 * t + 2] = lut[k][2];
        }
    }
    ts_status s = ts_png_write(path, px, T, TS_N_MELS, 3);
    free(px);
    return s;
}
