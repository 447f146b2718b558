#!/usr/bin/python3
"""Peer for bench/bench_audio.c: a whisper-style numpy log-mel (as in
openai-whisper's audio.py, with numpy instead of torch): reflect pad,
periodic Hann, numpy.fft.rfft STFT, |X|^2 without the last frame, the
80-band Slaney filterbank as a matmul, log10 clamp, max - 8, (x + 4) / 4.

    bench/peer_mel.py SIGNAL.npy [REPS]

Run it on one thread (OMP/OPENBLAS_NUM_THREADS=1); prints the median time
and "RESULT peer_logmel_s ..." for bench/run_audio.sh."""
import sys
import time

import numpy as np

N_FFT, HOP = 400, 160


def log_mel(audio, filters, window):
    padded = np.pad(audio, N_FFT // 2, mode="reflect")
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    stft = np.fft.rfft(frames * window, axis=-1)
    magnitudes = np.abs(stft[:-1]) ** 2
    mel_spec = filters @ magnitudes.T
    log_spec = np.log10(np.maximum(mel_spec, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return (log_spec + 4.0) / 4.0


def main():
    x = np.load(sys.argv[1]).astype(np.float32)
    reps = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    filters = np.load("tests/golden/mel_filters.npy")  # (80, 201) librosa Slaney
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
    out = log_mel(x, filters, window)  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        out = log_mel(x, filters, window)
        times.append(time.perf_counter() - t0)
    t = float(np.median(times))
    secs = len(x) / 16000.0
    print("    numpy log-mel (peer), shape %s: %6.2f ms = %6.0fx real time" % (out.shape, t * 1e3, secs / t))
    print("RESULT peer_logmel_s %.6f" % t)


if __name__ == "__main__":
    main()
