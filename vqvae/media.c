/* Files in and pictures out for tokenize / reconstruct. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tessera/audio.h"
#include "tessera/image.h"
#include "vqvae/vq_internal.h"

ts_status ts_vq_load_media(const ts_vq *vq, const char *path, int threads, ts_vq_input_kind *kind,
                           float **data, int *T) {
    return ts_vq_load_media_floor(vq, path, threads, 0, kind, data, T);
}

ts_status ts_vq_load_media_floor(const ts_vq *vq, const char *path, int threads, float level_floor,
                                 ts_vq_input_kind *kind, float **data, int *T) {
    ts_mapped_file f;
    *data = NULL, *T = 0;
    ts_status s = ts_map_file(path, &f);
    if (s) return s;
    const int S = vq->cfg.image_size;
    if (ts_image_sniff(f.data, f.len) != TS_IMAGE_UNKNOWN) {
        *kind = TS_VQ_IMAGE;
        *data = malloc((size_t)3 * S * S * sizeof **data);
        s = *data ? ts_image_load_input_mem(f.data, f.len, path, S, TS_FIT_STRETCH, *data)
                  : ts_fail(TS_ERR_NOMEM, "out of memory");
    } else if (ts_audio_sniff(f.data, f.len)) {
        *kind = TS_VQ_AUDIO;
        float *pcm = NULL;
        size_t n = 0;
        s = ts_audio_load_mem(f.data, f.len, path, &pcm, &n);
        if (!s) ts_audio_level_floor(pcm, n, level_floor);
        if (!s) {
            /* pad to whole codes: 4 frames of 160 samples each */
            size_t unit = (size_t)TS_HOP * TS_VQ_DOWN, m = (n + unit - 1) / unit * unit;
            if (m == 0) m = unit;
            float *p = calloc(m, sizeof *p);
            if (!p) s = ts_fail(TS_ERR_NOMEM, "out of memory");
            else {
                memcpy(p, pcm, n * sizeof *p);
                s = ts_logmel(p, m, threads, data, T);
                if (s) s = ts_fail(s, "%s: %s", path, ts_last_error());
                free(p);
            }
        }
        free(pcm);
    } else {
        s = ts_fail(TS_ERR_INPUT, "%s: not an image or audio file", path);
    }
    ts_unmap_file(&f);
    if (s) free(*data), *data = NULL;
    return s;
}

/* A perceptually ordered colour map (dark blue, magenta, orange, yellow). */
static void colormap(float v, uint8_t *rgb) {
    static const float stops[5][3] = {
        {0, 0, 4}, {87, 16, 110}, {188, 55, 84}, {249, 142, 9}, {252, 255, 164}};
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    float x = v * 4;
    int i = (int)x;
    if (i > 3) i = 3;
    float t = x - i;
    for (int c = 0; c < 3; c++)
        rgb[c] = (uint8_t)(stops[i][c] + t * (stops[i + 1][c] - stops[i][c]) + 0.5f);
}

ts_status ts_vq_mel_compare_png(const char *path, const float *a, const float *b, int n_mels,
                                int T) {
    const int gap = 2, H = 2 * n_mels + gap;
    uint8_t *rgb = malloc((size_t)H * T * 3);
    if (!rgb) return ts_fail(TS_ERR_NOMEM, "out of memory");
    memset(rgb, 255, (size_t)H * T * 3);
    /* both on the original's scale: its max maps to the top colour, 8 units
     * below (the log-mel's clamp, in (x + 4) / 4 units: 2) to the bottom */
    float hi = -INFINITY;
    for (size_t i = 0; i < (size_t)n_mels * T; i++) hi = fmaxf(hi, a[i]);
    const float lo = hi - 2.0f;
    for (int half = 0; half < 2; half++) {
        const float *m = half ? b : a;
        int y0 = half ? n_mels + gap : 0;
        for (int band = 0; band < n_mels; band++)
            for (int t = 0; t < T; t++) {
                int y = y0 + (n_mels - 1 - band); /* low bands at the bottom */
                colormap((m[(size_t)band * T + t] - lo) / (hi - lo), rgb + ((size_t)y * T + t) * 3);
            }
    }
    ts_status s = ts_png_write(path, rgb, T, H, 3);
    free(rgb);
    return s;
}

ts_status ts_vq_image_png(const char *path, const float *x, int S, int scale) {
    if (scale < 1) scale = 1;
    int W = S * scale;
    uint8_t *rgb = malloc((size_t)W * W * 3);
    if (!rgb) return ts_fail(TS_ERR_NOMEM, "out of memory");
    for (int y = 0; y < W; y++)
        for (int xx = 0; xx < W; xx++)
            for (int c = 0; c < 3; c++) {
                float v = roundf((x[((size_t)c * S + y / scale) * S + xx / scale] + 1) * 127.5f);
                rgb[((size_t)y * W + xx) * 3 + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    ts_status s = ts_png_write(path, rgb, W, W, 3);
    free(rgb);
    return s;
}
