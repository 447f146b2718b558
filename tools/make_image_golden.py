#!/usr/bin/python3
"""Golden values for tessera's image front end (vision/), from independent
implementations: Pillow (decoding, EXIF transpose, CMYK, BOX resampling),
PyTorch (bilinear upsampling) and numpy (exact area averaging, float64).

Writes, under tests/golden/ (run from the repository root):
  image_src.png            37x23 RGB noise, lossless
  image_small.png          11x7 RGB noise, lossless
  image_area16.npy         (3,16,16) f32: image_src stretched to 16x16 by exact
                           area averaging (numpy, float64), then v/127.5 - 1
  image_src48.png          48x32 RGB noise, lossless
  image_box16_{stretch,crop,pad}.npy
                           (3,16,16) f32: image_src48 fitted three ways and
                           shrunk with Pillow's BOX filter (8-bit output, so
                           +-0.5 level). Pillow's BOX weighs whole pixels by
                           their centres, which is the exact area average only
                           when the ratio is an integer: 48 -> 16, 32 -> 16.
  image_bilinear32.npy     (3,32,32) f32: image_small upsampled by
                           torch.nn.functional.interpolate(bilinear,
                           align_corners=False), then v/127.5 - 1
  image_photo_exif6.jpg    40x24 JPEG (4:2:0, q85) with EXIF orientation 6
  image_photo_exif6.npy    (40,24,3) f32 0..255: Pillow's decode + exif_transpose
  image_cmyk_adobe.jpg     32x16 CMYK JPEG as Pillow writes it (Adobe, inverted)
  image_cmyk_adobe.npy     (16,32,3) f32 0..255: Pillow's decode, convert("RGB")
Deterministic: fixed seeds.

    /usr/bin/python3 tools/make_image_golden.py
"""
import os

import numpy as np
import torch
from PIL import Image, ImageOps

OUT = os.path.join("tests", "golden")


def norm(a):
    """HxWx3 in 0..255 -> (3,H,W) float32 in [-1, 1]."""
    return (np.asarray(a, np.float64).transpose(2, 0, 1) / 127.5 - 1.0).astype(np.float32)


def area_matrix(n_in, n_out):
    """(n_out, n_in): weight of source pixel i in output o = overlap of
    [i, i+1) with [o s, (o+1) s), divided by s = n_in / n_out."""
    s = n_in / n_out
    m = np.zeros((n_out, n_in))
    for o in range(n_out):
        a, b = o * s, (o + 1) * s
        for i in range(n_in):
            m[o, i] = max(0.0, min(b, i + 1) - max(a, i)) / s
    return m


def main():
    rng = np.random.default_rng(2024)
    src = rng.integers(0, 256, (23, 37, 3), dtype=np.uint8)
    small = rng.integers(0, 256, (7, 11, 3), dtype=np.uint8)
    Image.fromarray(src).save(os.path.join(OUT, "image_src.png"))
    Image.fromarray(small).save(os.path.join(OUT, "image_small.png"))

    ay, ax = area_matrix(23, 16), area_matrix(37, 16)
    area = np.einsum("yj,jic,xi->yxc", ay, src.astype(np.float64), ax)
    np.save(os.path.join(OUT, "image_area16.npy"), norm(area))

    src48 = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    Image.fromarray(src48).save(os.path.join(OUT, "image_src48.png"))
    im = Image.fromarray(src48)
    w, h = im.size
    np.save(os.path.join(OUT, "image_box16_stretch.npy"), norm(im.resize((16, 16), Image.BOX)))
    side = min(w, h)
    x0, y0 = (w - side) // 2, (h - side) // 2
    crop = im.resize((16, 16), Image.BOX, box=(x0, y0, x0 + side, y0 + side))
    np.save(os.path.join(OUT, "image_box16_crop.npy"), norm(crop))
    side = max(w, h)
    canvas = Image.new("RGB", (side, side), (255, 255, 255))
    canvas.paste(im, ((side - w) // 2, (side - h) // 2))
    np.save(os.path.join(OUT, "image_box16_pad.npy"), norm(canvas.resize((16, 16), Image.BOX)))

    t = torch.from_numpy(small.astype(np.float64).transpose(2, 0, 1)[None])
    up = torch.nn.functional.interpolate(t, size=(32, 32), mode="bilinear", align_corners=False)
    np.save(os.path.join(OUT, "image_bilinear32.npy"),
            (up[0].numpy() / 127.5 - 1.0).astype(np.float32))

    yy, xx = np.mgrid[0:24, 0:40]
    photo = np.stack([xx * 6, yy * 10, 128 + 90 * np.sin(xx * 0.3 + yy * 0.2)], -1)
    photo = np.clip(photo + rng.normal(0, 6, photo.shape), 0, 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = os.path.join(OUT, "image_photo_exif6.jpg")
    Image.fromarray(photo).save(path, quality=85, subsampling=2, exif=exif.tobytes())
    dec = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
    np.save(os.path.join(OUT, "image_photo_exif6.npy"), np.asarray(dec, np.float32))

    cmyk = np.stack([xx[:16, :32] * 6, yy[:16, :32] * 12, 100 + xx[:16, :32] * 2,
                     20 + yy[:16, :32] * 3], -1).astype(np.uint8)
    path = os.path.join(OUT, "image_cmyk_adobe.jpg")
    Image.fromarray(cmyk, "CMYK").save(path, quality=90)
    dec = Image.open(path).convert("RGB")
    np.save(os.path.join(OUT, "image_cmyk_adobe.npy"), np.asarray(dec, np.float32))


if __name__ == "__main__":
    main()
