/* Streaming resampler to 16 kHz mono (libsoxr), used by the decoder so that
 * only the 16 kHz output is ever held in memory, whatever the source rate. */
#ifndef TS_AUDIO_RESAMPLE_H
#define TS_AUDIO_RESAMPLE_H

#include <stddef.h>

#include "tessera/core.h"

/* The soxr quality recipe tessera uses (see resample.c for the measurement
 * behind the choice). */
#define TS_RESAMPLE_RECIPE_DEFAULT 4 /* SOXR_HQ: 20-bit, linear phase */

/* A growing output buffer of 16 kHz float samples. */
typedef struct {
    float *data;
    size_t n, cap;
    size_t max_n; /* refuse to grow beyond this many samples */
} ts_fbuf;

typedef struct ts_resampler ts_resampler;

/* rate: input rate in Hz (rate == 16000 passes samples through unchanged).
 * recipe: a soxr quality recipe (SOXR_HQ, SOXR_VHQ, ...). */
ts_status ts_resampler_new(int rate, unsigned recipe, const char *name, ts_resampler **out);
/* Feeds n mono samples (n == 0 with in == NULL flushes the filter's tail)
 * and appends what comes out to buf. */
ts_status ts_resampler_push(ts_resampler *r, const float *in, size_t n, ts_fbuf *buf);
void ts_resampler_free(ts_resampler *r);

/* Appends n samples to buf, growing it (fails past buf->max_n). */
ts_status ts_fbuf_append(ts_fbuf *buf, const float *x, size_t n, const char *name);
/* Makes room for at least `more` samples beyond buf->n. */
ts_status ts_fbuf_reserve(ts_fbuf *buf, size_t more, const char *name);

/* One-shot with an explicit recipe (the public ts_resample_to_16k uses the
 * default); for the benchmark's recipe comparison. */
ts_status ts_resample_to_16k_recipe(const float *in, size_t n_in, int rate, unsigned recipe,
                                    float **out, size_t *n_out);

#endif
