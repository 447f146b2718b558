/* Test-time views of images and clips (see fusion/views.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fusion/augment.h"
#include "fusion/views.h"
#include "tessera/pipeline.h"

/* (dx, dy) per view: the 3 x 3 neighbourhood of moves of at most a pixel,
 * the diagonals first, so that two or four views already see the VQ-VAE's
 * grid at other phases along both axes */
static const int8_t image_shift[TS_MAX_VIEWS][2] = {{0, 0}, {1, 1},  {-1, -1}, {1, -1}, {-1, 1},
                                                    {1, 0}, {-1, 0}, {0, 1},   {0, -1}};
/* frames of 10 ms per view: the four phases of a code's 40 ms, half a code
 * first (longer delays cost beep counting, so a clip has no more views) */
static const uint8_t mel_delay[TS_AUDIO_VIEWS] = {0, 2, 1, 3};

void view_image(const float *in, int S, int view, float *out) {
    const int8_t *d = image_shift[view % TS_MAX_VIEWS];
    aug_image_transform(in, S, false, d[0], d[1], true, 0, out);
}

void view_mel(const float *in, int n_mels, int T, int view, float *out) {
    if (T <= 0) return;
    int delay = mel_delay[view % TS_AUDIO_VIEWS];
    if (delay > T) delay = T;
    float lo = in[0];
    for (size_t i = 1; i < (size_t)n_mels * T; i++)
        lo = in[i] < lo ? in[i] : lo;
    for (int b = 0; b < n_mels; b++) {
        float *row = out + (size_t)b * T;
        for (int t = 0; t < delay; t++)
            row[t] = lo;
        memcpy(row + delay, in + (size_t)b * T, sizeof *row * (size_t)(T - delay));
    }
}

int view_count(ts_vq_input_kind kind, int n) {
    if (n < 1) return 1;
    if (n > TS_MAX_VIEWS) n = TS_MAX_VIEWS;
    return kind == TS_VQ_AUDIO && n > TS_AUDIO_VIEWS ? TS_AUDIO_VIEWS : n;
}

ts_status view_encode(const ts_vq *vq, ts_pool *pool, ts_vq_input_kind kind, const float *x, int T,
                      int n_views, int32_t *codes) {
    const ts_vq_config *c = ts_vq_get_config(vq);
    const int nv = view_count(kind, n_views), S = c->image_size;
    const size_t floats = kind == TS_VQ_IMAGE ? (size_t)3 * S * S : (size_t)c->n_mels * T;
    float *in = nv > 1 ? ts_alloc_floats(floats * (kind == TS_VQ_IMAGE ? nv : 1)) : NULL;
    if (nv > 1 && !in) return ts_fail(TS_ERR_NOMEM, "out of memory");
    ts_status s = TS_OK;
    if (kind == TS_VQ_IMAGE) {
        /* all views of a picture through one batched call */
        for (int v = 0; nv > 1 && v < nv; v++)
            view_image(x, S, v, in + floats * v);
        s = ts_vq_encode_images(vq, pool, nv > 1 ? in : x, nv, codes);
    } else {
        for (int v = 0; !s && v < nv; v++) {
            if (v) view_mel(x, c->n_mels, T, v, in);
            s = ts_vq_encode_audio(vq, pool, v ? in : x, 1, T,
                                   codes + (size_t)v * (T / TS_VQ_DOWN));
        }
    }
    free(in);
    return s;
}

int ts_media_views(const ts_media *media, int n) {
    int k = 1;
    for (int i = 0; i < n; i++)
        k = media[i].n_views > k ? media[i].n_views : k;
    return k;
}

void ts_media_view(const ts_media *media, int n, int v, ts_media *out) {
    for (int i = 0; i < n; i++) {
        int nv = media[i].n_views > 1 ? media[i].n_views : 1;
        out[i] = media[i];
        out[i].codes += (size_t)(v % nv) * media[i].n_codes;
        out[i].n_views = 1;
    }
}
