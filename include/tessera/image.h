/* tessera image front end (vision/): PNG and JPEG to model input. */
#ifndef TESSERA_IMAGE_H
#define TESSERA_IMAGE_H

#include "tessera/core.h"

/* Refused from the header, before any pixel buffer is allocated. */
#define TS_MAX_IMAGE_PIXELS ((uint64_t)1 << 27) /* 134 megapixels */
#define TS_MAX_IMAGE_FILE_BYTES ((size_t)256 << 20)

typedef enum { TS_IMAGE_UNKNOWN = 0, TS_IMAGE_PNG, TS_IMAGE_JPEG } ts_image_format;

/* What the file header says, as stored (before orientation). */
typedef struct {
    ts_image_format format;
    int width, height; /* as stored */
    int channels;      /* 1 grey, 2 grey+alpha, 3 RGB/YCbCr/palette, 4 RGBA/CMYK;
                          a PNG tRNS chunk counts as an alpha channel */
    int bit_depth;     /* 1, 2, 4, 8 or 16 */
    char color[16];    /* PNG: "grey", "grey+alpha", "palette", "rgb", "rgba", and
                          "grey+trns", "palette+trns", "rgb+trns"; JPEG: "grey",
                          "ycbcr", "rgb", "cmyk", "ycck" */
    bool interlaced;   /* PNG Adam7 or progressive JPEG */
    int orientation;   /* EXIF orientation 1..8 (1 when absent) */
} ts_image_info;

/* How an image is fitted to the model's square input. */
typedef enum {
    TS_FIT_STRETCH = 0, /* resize to size x size, aspect ignored */
    TS_FIT_CROP,        /* centre-crop to a square, then resize */
    TS_FIT_PAD,         /* pad to a square with white, then resize */
} ts_image_fit;

/* An 8-bit RGB image after orientation and alpha compositing (onto white). */
typedef struct {
    int width, height;
    uint8_t *rgb; /* height x width x 3, row-major */
} ts_image;

/* Detect the format from magic bytes; TS_IMAGE_UNKNOWN if neither. */
ts_image_format ts_image_sniff(const uint8_t *buf, size_t len);

/* Header only: no pixel decoding. `name` is only used in messages. A
 * header over TS_MAX_IMAGE_PIXELS (or an empty image) is refused here too. */
ts_status ts_image_probe_mem(const uint8_t *buf, size_t len, const char *name, ts_image_info *info);
ts_status ts_image_probe_file(const char *path, ts_image_info *info);

/* Full decode to 8-bit RGB, EXIF orientation applied, alpha onto white.
 * `min_side` > 0 lets the JPEG decoder use DCT-domain scaling (1/2, 1/4,
 * 1/8) so that both sides stay >= min_side: the full image is never decoded
 * when only a small one is needed. 0 decodes at full size. */
ts_status ts_image_decode_mem(const uint8_t *buf, size_t len, const char *name, int min_side,
                              ts_image *out);
ts_status ts_image_decode_file(const char *path, int min_side, ts_image *out);
void ts_image_free(ts_image *img);

/* Resize (area average down, bilinear up) after fitting, then normalise to
 * [-1, 1]. out is 3 x size x size floats, planar CHW (R plane, G, B).
 * Each axis on its own: one that shrinks is an exact box filter (every
 * source pixel weighs by its overlap with the output pixel's footprint,
 * fractions included); one that grows is bilinear with pixel centres at
 * i + 0.5, edges clamped (PyTorch's align_corners=False). Crop keeps the
 * centred min(w, h) square; pad centres the image on a white max(w, h)
 * square. size is 1..4096. */
ts_status ts_image_to_input(const ts_image *img, int size, ts_image_fit fit, float *out);

/* decode (with DCT scaling) + ts_image_to_input in one call. */
ts_status ts_image_load_input_mem(const uint8_t *buf, size_t len, const char *name, int size,
                                  ts_image_fit fit, float *out);
ts_status ts_image_load_input_file(const char *path, int size, ts_image_fit fit, float *out);

/* n images (buffers bufs[i] of lens[i] bytes; names[i] for messages, or
 * names NULL) to n model inputs, out = n x 3 x size x size floats, spread
 * over the pool's threads (pool NULL: this thread). The result does not
 * depend on the thread count. A failed item's input is all zeros and its
 * status goes to status[i] (status may be NULL); the return value and the
 * message are those of the first failed item, TS_OK when none failed. */
ts_status ts_image_load_input_batch(ts_pool *pool, int n, const uint8_t *const *bufs,
                                    const size_t *lens, const char *const *names, int size,
                                    ts_image_fit fit, float *out, ts_status *status);

/* Writes 8-bit pixels as PNG, atomically: channels 1 (grey), 3 (RGB) or 4
 * (RGBA), rows top to bottom. */
ts_status ts_png_write(const char *path, const uint8_t *pixels, int width, int height,
                       int channels);

#endif
