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
/* Headers that claim rates or channel counts outside these are refused
 * before anything is allocated. */
#define TS_MIN_AUDIO_RATE 1000
#define TS_MAX_AUDIO_RATE 768000
#define TS_MAX_AUDIO_CHANNELS 64

typedef struct {
    char container[16]; /* "wav", "flac", "ogg", ... */
    char codec[24];     /* "pcm_s16", "pcm_s24", "pcm_f32", "flac", "vorbis", ... */
    int sample_rate;
    int channels;
    int64_t frames;
    double seconds;
    int bits; /* bits per sample as stored (8, 16, 24, 32, 64); 0 for lossy codecs */
} ts_audio_info;

/* True when the bytes start like a container tessera reads: RIFF/RIFX/RF64
 * WAVE, FLAC, Ogg, AIFF/AIFC. */
bool ts_audio_sniff(const uint8_t *buf, size_t len);

/* Header only (no sample is decoded): container, codec, rate, channels,
 * length. frames is -1 (seconds -1) when the header does not say. Bad,
 * truncated or lying files give TS_ERR_INPUT and "NAME: problem". */
ts_status ts_audio_probe_mem(const uint8_t *buf, size_t len, const char *name, ts_audio_info *info);
ts_status ts_audio_probe_file(const char *path, ts_audio_info *info);

/* Decode, down-mix to mono (mean of the channels), resample to 16 kHz
 * (libsoxr, high quality). *samples is malloc'd, *n samples long. `name` is
 * only used in messages. Refuses non-finite samples and audio longer than
 * TS_MAX_AUDIO_SECONDS. */
ts_status ts_audio_load_mem(const uint8_t *buf, size_t len, const char *name, float **samples,
                            size_t *n);
ts_status ts_audio_load_file(const char *path, float **samples, size_t *n);

/* How many 16 kHz samples `frames` frames at `rate` Hz become through
 * ts_audio_load_* (round(frames * 16000 / rate)); the log-mel then has
 * that / 160 frames. -1 when frames is unknown (< 0) or rate <= 0. */
int64_t ts_audio_samples_16k(int64_t frames, int rate);

/* Resample mono audio from `rate` (TS_MIN_AUDIO_RATE..TS_MAX_AUDIO_RATE)
 * to 16 kHz; *out is malloc'd, ts_audio_samples_16k(n_in, rate) long. */
ts_status ts_resample_to_16k(const float *in, size_t n_in, int rate, float **out, size_t *n_out);

/* Whisper-compatible log-mel of 16 kHz mono samples: T = n / 160 frames.
 * mel is 80 x T, row-major (mel band b, frame t at mel[b * T + t]), malloc'd.
 * Uses up to `threads` threads (frames split between them); the result is
 * the same, to the bit, for any thread count. Fails (TS_ERR_INPUT) for
 * n < 160 and for non-finite samples. */
ts_status ts_logmel(const float *samples, size_t n, int threads, float **mel, int *T);

/* The peak a clip is brought up to when it is quieter (TS_LEVEL_FLOOR):
 * about the level of a typical training clip (the lower quartile of the
 * speech-commands clips' peaks, the median of FSDD's training speakers'). */
#define TS_LEVEL_FLOOR 0.3
/* Scales x[0..n) up so that its peak is `level` when it is below that (a
 * quiet recording brought to the level the model knows); louder clips,
 * silence and level <= 0 are left as they are. Returns the gain applied. */
float ts_audio_level_floor(float *x, size_t n, float level);

/* The spectrogram as a PNG (T x 80 pixels, written atomically): time left
 * to right, low bands at the bottom, a viridis-like colour map over the
 * 2-unit range below the maximum. */
ts_status ts_logmel_write_png(const char *path, const float *mel, int T);

#endif
