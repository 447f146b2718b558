/* Shared by the files of vision/: the per-format decoders behind
 * tessera/image.h, EXIF orientation, and the resampler. */
#ifndef TESSERA_VISION_INTERNAL_H
#define TESSERA_VISION_INTERNAL_H

#include "tessera/image.h"

/* "<memory>" when the caller gave no name. */
#define TS_IMAGE_NAME(name) ((name) ? (name) : "<memory>")

/* ---- EXIF (vision/exif.c) ---------------------------------------------- */
/* Orientation (tag 0x0112 of IFD0) from a TIFF structure as stored in EXIF
 * ("II*\0" or "MM\0*" first). Returns 1..8, or 1 when absent or malformed:
 * a broken EXIF block never makes an image unreadable. */
int ts_exif_orientation_tiff(const uint8_t *tiff, size_t len);
/* Walks a JPEG's marker segments up to the first scan and parses the first
 * APP1 "Exif\0\0" segment. Returns 1..8 (1 when absent). */
int ts_exif_orientation_jpeg(const uint8_t *buf, size_t len);

/* ---- orientation (vision/orient.c) -------------------------------------- */
/* Output size after EXIF orientation o of a w x h image. */
void ts_orient_size(int o, int w, int h, int *ow, int *oh);
/* Applies EXIF orientation o (1..8) to an RGB image in place of *img:
 * allocates the turned image and frees the old pixels. */
ts_status ts_image_orient(ts_image *img, int o, const char *name);

/* ---- per-format decoders (vision/png.c, vision/jpeg.c) ------------------- */
ts_status ts_png_probe(const uint8_t *buf, size_t len, const char *name, ts_image_info *info);
ts_status ts_png_decode(const uint8_t *buf, size_t len, const char *name, ts_image *out,
                        int *orientation);
ts_status ts_jpeg_probe(const uint8_t *buf, size_t len, const char *name, ts_image_info *info);
/* min_side > 0: DCT-domain scaling by M/8 (M in 1, 2, 4, 8), the smallest M
 * that keeps both sides >= min_side. */
ts_status ts_jpeg_decode(const uint8_t *buf, size_t len, const char *name, int min_side,
                         ts_image *out, int *orientation);

/* Refuses a header's size before anything is allocated for it. */
ts_status ts_image_check_size(const char *name, const char *what, uint64_t w, uint64_t h);

/* Alpha onto white, 8-bit: round((c a + 255 (255 - a)) / 255). */
static inline uint8_t ts_over_white(unsigned c, unsigned a) {
    return (uint8_t)((c * a + 255u * (255u - a) + 127u) / 255u);
}

#endif
