/* tessera audio front end (audio/): decode, mono, 16 kHz, log-mel. */
#ifndef TESSERA_AUDIO_H
#define TESSERA_AUDIO_H

#include "tessera/core.h"

#define TS_SAMPLE_RATE 16000
#define TS_N_MELS 80
#define TS_N_FFT 400
#define TS_HOP 160
#define TS_MAX_AUDIO_SECONDS 3600.0
#define TS_MAX_AUDIO_FILE_BYTES ((size_t)1 << 30)

typedef struct {
    char container[16]; /* "wav", "flac", "ogg", ... */
    char codec[24];     /* "pcm_s16", "pcm_s24", "pcm_f32", "flac", "vorbis", ... */
    int sample_rate;
    int channels;
    int64_t frames;
    double seconds;
} ts_audio_info;

/* True when the bytes start like a container libsndfile reads. */
bool ts_audio_sniff(const uint8_t *buf, size_t len);

ts_status ts_audio_probe_mem(const uint8_t *buf, size_t len, const char *name, ts_audio_info *info);
ts_status ts_audio_probe_file(const char *path, ts_audio_info *info);

/* Decode, down-mix to mono, resample to 16 kHz (libsoxr). *samples is
 * malloc'd, *n samples long. */
ts_status ts_audio_load_mem(const uint8_t *buf, size_t len, const char *name, float **samples,
                            size_t *n);
ts_status ts_audio_load_file(const char *path, float **samples, size_t *n);

/* Resample mono audio from `rate` to 16 kHz. */
ts_status ts_resample_to_16k(const float *in, size_t n_in, int rate, float **out, size_t *n_out);

/* Whisper-compatible log-mel of 16 kHz mono samples: T = n / 160 frames.
 * mel is 80 x T, row-major (mel band b, frame t at mel[b * T + t]), malloc'd.
 * Uses up to `threads` threads (frames split between them). Fails for n < 160. */
ts_status ts_logmel(const float *samples, size_t n, int threads, float **mel, int *T);

/* The spectrogram as a picture: time left to right, low bands at the bottom. */
ts_status ts_logmel_write_png(const char *path, const float *mel, int T);

#endif
