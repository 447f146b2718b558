#!/usr/bin/python3
"""Golden values for tessera's whisper-compatible log-mel (audio/logmel.c).

An independent implementation in numpy (float64), written from whisper's
audio.py (torch.stft centre=True, reflect pad, periodic Hann, |X|^2, the
last frame dropped, log10 clamp, max - 8, (x + 4) / 4) and librosa's
filters.mel(sr=16000, n_fft=400, n_mels=80, htk=False, norm='slaney').

Writes, under tests/golden/ (run from the repository root):
  mel_filters.npy        (80, 201) float32, the Slaney filterbank
  mel_<name>.wav         16 kHz mono 16-bit PCM test signals
  mel_<name>.npy         (80, T) float32 log-mel of that WAV's samples
Deterministic: fixed seeds, no dependence on the machine.

    /usr/bin/python3 tools/make_mel_golden.py
"""
import os
import wave

import numpy as np

SR, N_FFT, HOP, N_MELS = 16000, 400, 160, 80
OUT = os.path.join("tests", "golden")


def hz_to_mel(f):
    """Slaney mel scale (librosa htk=False): linear below 1 kHz, log above."""
    f = np.asanyarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    mels = f / f_sp
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-300) / min_log_hz) / logstep, mels)


def mel_to_hz(m):
    m = np.asanyarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)


def mel_filters():
    fftfreqs = np.fft.rfftfreq(n=N_FFT, d=1.0 / SR)  # (201,)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(SR / 2.0), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((N_MELS, len(fftfreqs)))
    for i in range(N_MELS):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:N_MELS + 2] - mel_f[:N_MELS])  # Slaney: equal area
    return weights * enorm[:, None]


def log_mel(x, filters):
    x = np.asarray(x, dtype=np.float64)
    padded = np.pad(x, N_FFT // 2, mode="reflect")
    n_frames = 1 + len(x) // HOP  # torch.stft(center=True)
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann
    spec = np.fft.rfft(padded[idx] * window, axis=-1)  # (frames, 201)
    power = np.abs(spec[:-1]) ** 2  # whisper drops the last frame
    mel = filters @ power.T  # (80, T)
    log_spec = np.log10(np.maximum(mel, 1e-10))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


def write_wav(path, pcm16):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes(pcm16.astype("<i2").tobytes())


def signals():
    rng = np.random.default_rng(20261129)
    out = {}
    # 0.5 s linear chirp 100 Hz -> 7 kHz plus white noise
    t = np.arange(8000) / SR
    f0, f1 = 100.0, 7000.0
    chirp = 0.5 * np.sin(2 * np.pi * (f0 * t + (f1 - f0) / (2 * 0.5) * t * t))
    out["chirp_noise"] = chirp + 0.05 * rng.standard_normal(len(t))
    # 4321 samples (not a multiple of the hop): silence, then two AM tones
    n = np.arange(4321)
    tone = (0.3 * np.sin(2 * np.pi * 440 * n / SR) + 0.1 * np.sin(2 * np.pi * 3000 * n / SR)) * \
        (0.6 + 0.4 * np.sin(2 * np.pi * 7 * n / SR))
    tone[:1000] = 0.0
    out["tones_odd"] = tone
    # 170 samples: shorter than the 200-sample pad, the reflection repeats
    out["tiny"] = 0.2 * rng.standard_normal(170)
    # all zeros: every value is log10(1e-10) -> (-10 + 4) / 4 = -1.5
    out["silence"] = np.zeros(1600)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    filters = mel_filters()
    np.save(os.path.join(OUT, "mel_filters.npy"), filters.astype(np.float32))
    for name, x in signals().items():
        pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
        write_wav(os.path.join(OUT, "mel_%s.wav" % name), pcm)
        # what libsndfile hands back for 16-bit PCM: int16 / 32768
        mel = log_mel(pcm.astype(np.float64) / 32768.0, filters)
        assert mel.shape == (N_MELS, len(pcm) // HOP)
        np.save(os.path.join(OUT, "mel_%s.npy" % name), mel)
        print("%-12s %5d samples -> (80, %d)  min %.4f max %.4f" % (name, len(pcm), mel.shape[1], mel.min(), mel.max()))


if __name__ == "__main__":
    main()
