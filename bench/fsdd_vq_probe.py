#!/usr/bin/python3
"""Compares VQ-VAEs on what their audio codes tell of a spoken digit.

Encodes every FSDD clip with `tessera tokenize -m VQ` (one process per
clip), trains bench/code_probe.py's small CNN on the codes of the four
training speakers (no augmentation; codes embedded as their fixed codebook
vectors, and as free rows) and prints the accuracy on speaker theo for 3
seeds and their median, with the codes' count, perplexity and mean run
length. Independent of any shards, so a VQ-VAE can be judged before a build.
The third row ("learned, swaps") trains the free rows on codes swapped as
`train-mm --code-swap 0,30` swaps them. "latents" feeds the same CNN the
encoder's output before quantisation (`tokenize --latents`): what the codes
would tell if the quantiser lost nothing. The last two rows give each frame
a second code, a residual quantiser over the same codebook:
c2 = nearest(s (z - e[c1])), with s the ratio of the rows' RMS to their residuals' RMS on the training
speakers. "residual sum" feeds e[c1] + e[c2] / s, one vector per frame;
"residual pairs" feeds c1 and c2 as two tokens per frame, the second with
its own ids and vectors e / s, as a decoder reading both would.

usage: /usr/bin/python3 bench/fsdd_vq_probe.py VQ.gguf [FSDD_DIR] [TESSERA]
  FSDD_DIR defaults to ../shared/data/fsdd/recordings, TESSERA to build/tessera
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from code_probe import Probe, gguf  # noqa: E402


def fsdd_clips(folder):
    """(path, digit, held out) of every FSDD clip, in name order; speaker theo is held out"""
    for f in sorted(os.listdir(folder)):
        if f.endswith(".wav"):
            digit, speaker = f.split("_")[:2]
            yield os.path.join(folder, f), int(digit), speaker == "theo"


def theo_accuracies(build, inputs, Y, held, epochs, swap=None):
    """Accuracy (%) on the held-out rows for seeds 0, 1, 2: after each seed,
    build() gives (trained parameters, forward), trained with AdamW on the
    other rows for `epochs` epochs of batches of 64, each batch through
    swap() first when given."""
    accs = []
    for seed in range(3):
        torch.manual_seed(seed)
        params, forward = build()
        opt = torch.optim.AdamW(params, lr=2e-3, weight_decay=0.05)
        xtr, ytr = inputs[~held], Y[~held]
        for _ in range(epochs):
            for b in torch.randperm(len(xtr)).split(64):
                x = swap(xtr[b]) if swap else xtr[b]
                loss = nn.functional.cross_entropy(forward(x), ytr[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
        with torch.no_grad():
            accs.append((forward(inputs[held]).argmax(1) == Y[held]).float().mean().item() * 100)
    return accs


def sq_dists(x, E):
    """|x_i - e_k|^2 for the rows x (N, D) and codes E (K, D)."""
    return (x ** 2).sum(1, keepdims=True) - 2 * x @ E.T + (E ** 2).sum(1)[None]


def residual_codes(z, a, E, held):
    """From the encoder rows z (clips, frames, D; zero padding) and codes a
    (K where padded): e[c1] + e[c2] / s per frame, the pairs c1, K + c2
    interleaved (2K where padded) and the two levels' vectors (2K, D)."""
    K = len(E)
    pad = a == K
    q1 = E[np.minimum(a, K - 1)]
    train = ~pad & ~held[:, None]
    s = np.sqrt((z[train] ** 2).sum(1).mean() / ((z[train] - q1[train]) ** 2).sum(1).mean())
    r = (s * (z - q1)).reshape(-1, E.shape[1])
    c2 = sq_dists(r, E).argmin(1)
    c2 = c2.reshape(a.shape)
    zsum = np.where(pad[..., None], 0, q1 + E[c2] / s).astype(np.float32)
    pairs = np.stack([np.where(pad, 2 * K, a), np.where(pad, 2 * K, K + c2)], 2).reshape(len(a), -1)
    err1, err2 = (((z - q) ** 2).sum(2)[~pad].mean() for q in (q1, zsum))
    print(f"residual scale s = {s:.2f}; mean squared error per frame: one code {err1:.3f}, "
          f"two {err2:.3f}")
    return zsum, pairs, torch.tensor(np.concatenate([E, E / s]).astype(np.float32))


def code_swapper(a, E, held, p, J=3):
    """As train-mm --code-swap: each code swapped, with probability p, for
    one of its J nearest codebook neighbours among the codes the training
    speakers' clips use (fusion/code_swap.c). a: codes, K where padded."""
    K = len(E)
    used = np.zeros(K, bool)
    u = np.unique(a[~held])
    used[u[u < K]] = True
    d = sq_dists(E, E)
    d[:, ~used] = np.inf
    np.fill_diagonal(d, np.inf)
    nb = np.concatenate([np.argsort(d, 1, kind="stable")[:, :J], np.full((1, J), K)])
    nb = torch.tensor(nb)

    def swap(x):
        alt = nb[x, torch.randint(0, J, x.shape)]
        return torch.where(torch.rand(x.shape) < p, alt, x)
    return swap


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    vq = sys.argv[1]
    folder = sys.argv[2] if len(sys.argv) > 2 else "../shared/data/fsdd/recordings"
    tessera = sys.argv[3] if len(sys.argv) > 3 else "build/tessera"
    torch.set_num_threads(1)
    X, Z, Y, held = [], [], [], []
    tmp = tempfile.TemporaryDirectory()
    zpath = os.path.join(tmp.name, "z.npy")
    for path, digit, out_of_training in fsdd_clips(folder):
        out = subprocess.run([tessera, "tokenize", "-m", vq, "-t", "1", "--latents", zpath, path],
                             capture_output=True, text=True, check=True).stdout
        X.append([int(v) for v in out.split()])
        Z.append(np.load(zpath))
        Y.append(digit)
        held.append(out_of_training)
    codes = np.concatenate([np.array(x) for x in X])
    _, counts = np.unique(codes, return_counts=True)
    p = counts / counts.sum()
    runs = np.mean([len(x) / (1 + sum(a != b for a, b in zip(x, x[1:]))) for x in X])
    print(f"{vq}: {len(counts)} distinct codes, perplexity {np.exp(-(p * np.log(p)).sum()):.1f}, "
          f"mean run length {runs:.2f}")
    codebook = torch.tensor(gguf(vq)[1]["vq.codebook"].copy())
    K = codebook.shape[0]
    a = np.full((len(X), max(len(x) for x in X)), K)
    for i, x in enumerate(X):
        a[i, :len(x)] = x
    z = np.zeros((len(Z), a.shape[1], codebook.shape[1]), np.float32)  # padded with zeros
    for i, zi in enumerate(Z):
        z[i, :len(zi)] = zi
    zsum, pairs, two_levels = residual_codes(z, a, codebook.numpy(), np.array(held))
    a, z, Y, held = torch.tensor(a), torch.tensor(z), torch.tensor(Y), torch.tensor(held)
    inputs = {"frozen": a, "learned": a, "learned, swaps": a, "latents": z,
              "residual sum": torch.tensor(zsum), "residual pairs": torch.tensor(pairs)}
    swap = code_swapper(a.numpy(), codebook.numpy(), held.numpy(), 0.3)
    for mode, x in inputs.items():
        def build():
            net = Probe(two_levels if mode == "residual pairs" else codebook,
                        not mode.startswith("learned"), False, 10)
            # rows go straight in, where the other modes look codes up
            rows = lambda x: net.fc(net.net(x.transpose(1, 2)).amax(2))  # noqa: E731
            run = rows if x.is_floating_point() else net
            return [q for q in net.parameters() if q.requires_grad], run
        accs = theo_accuracies(build, x, Y, held, 30, swap if mode.endswith("swaps") else None)
        print(f"{mode:15s} theo accuracy per seed {' '.join(f'{v:.1f}' for v in accs)}, "
              f"median {np.median(accs):.1f} %", flush=True)


if __name__ == "__main__":
    main()
