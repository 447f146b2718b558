/* Test-time views of one medium (fusion/views.c): the picture moved by a
 * pixel, the clip delayed by one to three 10 ms frames. Each view is
 * encoded to its own codes; `caption`, `ask` and `chat` draw every answer
 * token from the mean of the views' log-probabilities
 * (ts_model_generate_views) and `eval` scores an option by its mean
 * log-likelihood over them: the VQ-VAE's 4 x 4 grid and 4-frame steps then
 * fall at several phases of the same content. The moves stay inside what
 * training's augmented copies show (shifts up to AUG_MAX_SHIFT_PX, clips
 * moved up to AUG_SHIFT_SECONDS). View 0 is the medium as read. */
#ifndef TESSERA_FUSION_VIEWS_H
#define TESSERA_FUSION_VIEWS_H

#include "tessera/vqvae.h"

/* a clip has at most this many distinct views (the phases of one code) */
#define TS_AUDIO_VIEWS 4

/* Image view (3 x S x S planar floats): out is in moved by view's offset,
 * the edge pixels repeated. in and out must not overlap. */
void view_image(const float *in, int S, int view, float *out);
/* Clip view (n_mels x T log-mel, row per band): out is in delayed by view's
 * frames, silence (the clip's lowest value) coming in at the start and the
 * last frames dropped, so every view has the same T. */
void view_mel(const float *in, int n_mels, int T, int view, float *out);

/* The distinct views of a medium of this kind when n are asked for. */
int view_count(ts_vq_input_kind kind, int n);
/* Codes of one medium as ts_vq_load_media read it (x; T frames for a clip)
 * in view_count(kind, n_views) views, one after another: codes holds that
 * many times 64 (an image) or T / 4 (a clip). */
ts_status view_encode(const ts_vq *vq, ts_pool *pool, ts_vq_input_kind kind, const float *x, int T,
                      int n_views, int32_t *codes);

#endif
