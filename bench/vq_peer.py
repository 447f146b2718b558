#!/usr/bin/python3
"""Peer for bench_vq.c: the same VQ-VAE (layers, sizes, batch) in PyTorch on
the CPU, timed the same way. Prints one "key value" line per measurement.

    /usr/bin/python3 bench/vq_peer.py THREADS IMG_HIDDEN AUD_HIDDEN RES K D REPS
"""
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Res(nn.Module):
    def __init__(self, c, two_d):
        super().__init__()
        Conv = nn.Conv2d if two_d else nn.Conv1d
        self.a = Conv(c, c, 3, 1, 1)
        self.b = Conv(c, c, 1)

    def forward(self, x):
        return x + self.b(F.relu(self.a(F.relu(x))))


def encoder(cin, c, d, n_res, two_d):
    Conv = nn.Conv2d if two_d else nn.Conv1d
    layers = [Conv(cin, c, 4, 2, 1), nn.ReLU(), Conv(c, c, 4, 2, 1)]
    layers += [Res(c, two_d) for _ in range(n_res)]
    layers += [nn.ReLU(), Conv(c, d, 1)]
    return nn.Sequential(*layers)


def decoder(d, c, cout, n_res, two_d):
    Conv = nn.Conv2d if two_d else nn.Conv1d
    ConvT = nn.ConvTranspose2d if two_d else nn.ConvTranspose1d
    layers = [Conv(d, c, 3, 1, 1)] + [Res(c, two_d) for _ in range(n_res)]
    layers += [nn.ReLU(), ConvT(c, c, 4, 2, 1), nn.ReLU(), ConvT(c, cout, 4, 2, 1)]
    return nn.Sequential(*layers)


def nearest(z, E, norms):
    # z (M, D): argmin |e|^2 - 2 z.e, as the C code does
    return torch.argmin(norms[None, :] - 2.0 * z @ E.t(), dim=1)


def median(fn, reps):
    fn()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    threads, ch, ca, n_res, K, D, reps = (int(a) for a in sys.argv[1:8])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    E = torch.randn(K, D)
    norms = (E * E).sum(1)
    ienc, idec = encoder(3, ch, D, n_res, True), decoder(D, ch, 3, n_res, True)
    aenc, adec = encoder(80, ca, D, n_res, False), decoder(D, ca, 80, n_res, False)

    imgs = torch.rand(512, 3, 32, 32) * 2 - 1
    mels = torch.randn(64, 80, 100)

    def enc_img():
        with torch.no_grad():
            for i in range(0, 512, 32):
                z = ienc(imgs[i:i + 32]).permute(0, 2, 3, 1).reshape(-1, D)
                nearest(z, E, norms)

    def enc_aud():
        with torch.no_grad():
            for i in range(0, 64, 8):
                z = aenc(mels[i:i + 8]).permute(0, 2, 1).reshape(-1, D)
                nearest(z, E, norms)

    def train(enc, dec, x, steps, opt):
        for s in range(steps):
            z = enc(x)
            perm = (0, 2, 3, 1) if z.dim() == 4 else (0, 2, 1)
            zr = z.permute(*perm).reshape(-1, D)
            idx = nearest(zr.detach(), E, norms)
            zq = E[idx]
            commit = F.mse_loss(zr, zq)
            zst = zr + (zq - zr).detach()
            back = (0, 3, 1, 2) if z.dim() == 4 else (0, 2, 1)
            y = dec(zst.reshape(*[z.shape[0]] + [z.shape[i] for i in perm[1:]]).permute(*back))
            loss = F.mse_loss(y, x) + 0.25 * commit
            opt.zero_grad()
            loss.backward()
            opt.step()

    oi = torch.optim.Adam(list(ienc.parameters()) + list(idec.parameters()), lr=1e-4)
    oa = torch.optim.Adam(list(aenc.parameters()) + list(adec.parameters()), lr=1e-4)
    xb, mb = imgs[:32], mels[:16]
    t = median(enc_img, reps)
    print("encode_images_per_s %.1f" % (512 / t))
    t = median(enc_aud, reps)
    print("encode_audio_x_realtime %.1f" % (64.0 / t))
    t = median(lambda: train(ienc, idec, xb, 5, oi), reps)
    print("train_images_per_s %.1f" % (32 * 5 / t))
    t = median(lambda: train(aenc, adec, mb, 5, oa), reps)
    print("train_audio_s_per_s %.1f" % (16 * 5 / t))


if __name__ == "__main__":
    main()
