/* libFuzzer target for the audio front end: sniff, probe, load (decode,
 * down-mix, resample to 16 kHz) and log-mel on one buffer. Seed corpus:
 * fuzz/corpus/audio/ (tiny WAV 8/16/24-bit, float, RIFX, AIFF, FLAC, Ogg).
 * Any crash, leak, sanitizer report or inconsistent result is a bug. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "tessera.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* libsndfile 1.2.0 leaks libvorbis' header state when a Vorbis setup header
 * is malformed (sf_open_virtual fails; ~11 KB allocated under
 * vorbis_info_init / vorbis_synthesis_headerin, never freed by libsndfile).
 * Not ours and not fixable from here: only allocations made inside
 * libvorbis are suppressed, so a missing sf_close (allocated by libsndfile
 * itself) or any leak of our own still fails the run. */
const char *__lsan_default_suppressions(void) { return "leak:libvorbis.so\n"; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    bool sniffed = ts_audio_sniff(data, size);
    ts_audio_info info;
    ts_status ps = ts_audio_probe_mem(data, size, "fuzz", &info);
    if (ps == TS_OK &&
        (!sniffed || info.channels < 1 || info.channels > TS_MAX_AUDIO_CHANNELS ||
         info.sample_rate < TS_MIN_AUDIO_RATE || info.sample_rate > TS_MAX_AUDIO_RATE ||
         info.seconds > TS_MAX_AUDIO_SECONDS))
        abort();
    if (ps != TS_OK && ps != TS_ERR_INPUT) abort();
    /* decoding an hour of audio is legal but slow: keep each run short */
    if (ps == TS_OK && info.frames > 0 && info.seconds > 30.0) return 0;
    float *pcm = NULL;
    size_t n = 0;
    ts_status ls = ts_audio_load_mem(data, size, "fuzz", &pcm, &n);
    if (ls != TS_OK) {
        if (pcm || n || ls == TS_ERR_INTERNAL) abort();
        return 0;
    }
    if (ps != TS_OK || !pcm) abort();
    for (size_t i = 0; i < n; i++)
        if (!isfinite(pcm[i])) abort();
    if (n >= TS_HOP) {
        float *mel = NULL;
        int T = 0;
        if (ts_logmel(pcm, n, 1, &mel, &T) != TS_OK || T != (int)(n / TS_HOP)) abort();
        for (size_t i = 0; i < (size_t)T * TS_N_MELS; i++)
            if (!(mel[i] >= -1.5f - 1e-4f && mel[i] < 1e6f)) abort();
        free(mel);
    }
    free(pcm);
    return 0;
}
