/* Data augmentation of the corpus's repeated train items (fusion/augment.c):
 * pure functions over one buffer, the randomness from a ts_rng the caller
 * seeds with aug_seed, so every copy is the same bytes on every run. */
#ifndef TESSERA_FUSION_AUGMENT_H
#define TESSERA_FUSION_AUGMENT_H

#include "tessera/core.h"

#define AUG_MAX_SHIFT_PX 2
#define AUG_SPEED_MIN 0.88f
#define AUG_SPEED_MAX 1.12f
#define AUG_GAIN_DB 6.0f
#define AUG_SHIFT_SECONDS 0.080f
#define AUG_SNR_MIN_DB 10.0f
#define AUG_SNR_MAX_DB 30.0f

/* The seed of copy `copy` of item `index` of a source (TS_SRC_*). */
uint64_t aug_seed(uint64_t corpus_seed, int source, int64_t index, int copy);

/* ---- images: 3 x S x S planar floats in [-1, 1] ---- */
/* out(c, y, x) = in(c, y - dy, x' - dx) with x' = S-1-x when flipped: the
 * picture moves dx right and dy down. Pixels from outside repeat the
 * nearest edge pixel (edge) or are `fill`. in and out must not overlap. */
void aug_image_transform(const float *in, int S, bool flip, int dx, int dy, bool edge, float fill,
                         float *out);
/* In place: a shift of up to AUG_MAX_SHIFT_PX each way, mirrored when flip. */
ts_status aug_image_random(ts_rng *r, float *img, int S, bool flip, bool edge, float fill);

/* ---- 16 kHz mono clips ---- */
/* Plays x as if recorded at factor x 16 kHz: about n / factor samples,
 * every frequency times factor (Kaldi's speed perturbation), through the
 * libsoxr resampler (the rate is rounded to whole Hz). *out malloc'd. */
ts_status aug_speed(const float *x, size_t n, float factor, float **out, size_t *n_out);
/* Multiplies by 10^(db/20) and clips to [-1, 1]. */
void aug_gain(float *x, size_t n, float db);
/* Moves the clip by `shift` samples (later when > 0), zeros coming in. */
void aug_shift(float *x, size_t n, long shift);
/* Adds noise[0..n) scaled so signal power / noise power = snr_db; nothing
 * when either is silent. Clips to [-1, 1]. */
void aug_add_noise(float *x, size_t n, const float *noise, float snr_db);

/* The clip as 8 kHz audio would carry it: nothing above 4 kHz, as in
 * FSDD's and the Asterisk prompts' recordings. Decimated to 8 kHz and back
 * through libsoxr; *out malloc'd, about n long. */
ts_status aug_narrowband(const float *x, size_t n, float **out, size_t *n_out);

/* Recorded noise to draw slices from (16 kHz clips); count 0: white noise. */
typedef struct {
    float **clips;
    size_t *len;
    int count;
} aug_noise;

/* Speed, gain, shift, (half the time) noise and (a share `narrow` of the
 * time) the telephone band, drawn from r, in that order: the band last, as
 * a channel would cut the noise too. narrow 0 draws nothing for the band,
 * so the other draws are those of a build without it. *out malloc'd,
 * *n_out long. */
ts_status aug_audio_random(ts_rng *r, const aug_noise *noise, float narrow, const float *x,
                           size_t n, float **out, size_t *n_out);

#endif
