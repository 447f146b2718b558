/* Internals of the log-mel (audio/logmel.c), for tests and benchmarks. */
#ifndef TS_AUDIO_LOGMEL_H
#define TS_AUDIO_LOGMEL_H

#include "tessera/audio.h"

#define TS_N_BINS (TS_N_FFT / 2 + 1) /* 201 rfft bins */

/* librosa.filters.mel(sr=16000, n_fft=400, n_mels=80, htk=False,
 * norm='slaney'), dense: fb is (80, 201), row-major. Computed in double. */
void ts_mel_filterbank(float *fb);

typedef enum {
    TS_MEL_SPARSE = 0, /* each filter over its own few bins (the default) */
    TS_MEL_GEMM,       /* blocks of power spectra times the dense filterbank */
} ts_mel_mode;

typedef struct {
    ts_mel_mode mode;
    unsigned fftw_flags; /* FFTW_ESTIMATE (the default: the same plan, so the
                            same bytes, on every run) or FFTW_MEASURE */
} ts_logmel_opts;

ts_status ts_logmel_ex(const float *samples, size_t n, int threads, const ts_logmel_opts *opts,
                       float **mel, int *T);

#endif
