#!/usr/bin/python3
"""What FSDD's held-out speaker tells from the log-mel itself, before any
VQ-VAE: the yardstick for bench/fsdd_vq_probe.py's codes.

Writes every FSDD clip's log-mel with `tessera mel` (one process per clip,
into a temporary folder), trains a small 1-D CNN on the four training
speakers' spectrograms (no augmentation; two stride-2 convolutions, the
VQ-VAE audio encoder's 4x in time, then two more and a max over time) and
prints the accuracy on speaker theo for 3 seeds and their median, once per
input normalisation:
  raw   the whisper-style log-mel as the VQ-VAE reads it
  cmn   each band's mean over the clip subtracted
  gain  the clip's maximum subtracted (a loudness shift)
  cmvn  each band's mean subtracted and its spread divided out

usage: /usr/bin/python3 bench/fsdd_mel_probe.py [FSDD_DIR] [TESSERA] [THREADS]
  FSDD_DIR defaults to ../shared/data/fsdd/recordings, TESSERA to
  build/tessera, THREADS to 1
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fsdd_vq_probe import fsdd_clips, theo_accuracies  # noqa: E402

MODES = ("raw", "cmn", "gain", "cmvn")


def normalise(x, mode):
    if mode == "cmn":
        return x - x.mean(1, keepdims=True)
    if mode == "gain":
        return x - x.max()
    if mode == "cmvn":
        return (x - x.mean(1, keepdims=True)) / (x.std(1, keepdims=True) + 0.1)
    return x


def batch(X, mode):
    """(clips, 80, T) padded with each clip's floor (raw: the clamp's -0.5 below 0)"""
    T = max(x.shape[1] for x in X)
    a = np.zeros((len(X), 80, T), np.float32)
    for i, x in enumerate(X):
        x = normalise(x, mode)
        a[i, :, :x.shape[1]] = x
        a[i, :, x.shape[1]:] = -0.5 if mode == "raw" else x.min()
    return torch.tensor(a)


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/fsdd/recordings"
    tessera = sys.argv[2] if len(sys.argv) > 2 else "build/tessera"
    torch.set_num_threads(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    X, Y, held = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for path, digit, out_of_training in fsdd_clips(folder):
            out = os.path.join(tmp, "m")
            subprocess.run([tessera, "mel", "-t", "1", "-o", out, path], capture_output=True,
                           check=True)
            X.append(np.load(out + ".npy"))
            Y.append(digit)
            held.append(out_of_training)
    Y, held = torch.tensor(Y), torch.tensor(held)
    def build():
        net = nn.Sequential(nn.Conv1d(80, 128, 4, 2, 1), nn.GELU(), nn.Conv1d(128, 128, 4, 2, 1),
                            nn.GELU(), nn.Conv1d(128, 128, 3, padding=1), nn.GELU(),
                            nn.Conv1d(128, 128, 3, padding=1), nn.GELU())
        fc = nn.Linear(128, 10)
        return list(net.parameters()) + list(fc.parameters()), lambda x: fc(net(x).amax(2))

    for mode in MODES:
        accs = theo_accuracies(build, batch(X, mode), Y, held, 15)
        print(f"{mode:5s} theo accuracy per seed {' '.join(f'{v:.1f}' for v in accs)}, "
              f"median {np.median(accs):.1f} %", flush=True)


if __name__ == "__main__":
    main()
