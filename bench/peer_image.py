#!/usr/bin/python3
"""Peer for bench_image.c: the same work with Pillow and numpy.

(a) images/s through decode -> resize to 32x32 (BOX, i.e. area average) ->
float32 in [-1, 1], planar CHW, for the JPEG members of a CIFAR-10 tar read
from memory, one thread; (b) one 12-megapixel JPEG to 32x32 in ms, plainly
and with Pillow's draft mode (its use of libjpeg's DCT scaling).

    /usr/bin/python3 bench/peer_image.py [CIFAR_TAR] [12MP_JPEG]
"""
import io
import statistics
import sys
import tarfile
import time

import numpy as np
from PIL import Image

REPS = 5


def to_input(data, draft=False):
    im = Image.open(io.BytesIO(data))
    if draft:
        im.draft("RGB", (32, 32))
    im = im.convert("RGB").resize((32, 32), Image.BOX)
    a = np.asarray(im, dtype=np.float32) / 127.5 - 1.0
    return np.ascontiguousarray(a.transpose(2, 0, 1))


def median_time(fn, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    tar = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/cifar10/test.tar"
    big = sys.argv[2] if len(sys.argv) > 2 else "/tmp/tessera-bench-12mp.jpg"
    with tarfile.open(tar) as t:
        blobs = [t.extractfile(m).read() for m in t.getmembers() if m.isfile()]

    def run_all():
        for b in blobs:
            to_input(b)

    sec = median_time(run_all, REPS)
    print("cifar_images_per_s %.0f" % (len(blobs) / sec))
    print("cifar_us_per_image %.2f" % (1e6 * sec / len(blobs)))
    with open(big, "rb") as f:
        data = f.read()
    print("jpeg12mp_ms %.2f" % (1e3 * median_time(lambda: to_input(data), 3)))
    print("jpeg12mp_draft_ms %.2f" % (1e3 * median_time(lambda: to_input(data, True), REPS)))


if __name__ == "__main__":
    main()
