/* EXIF orientation applied to decoded RGB pixels. For each orientation we
 * name where output pixel (x, y) comes from in the stored w x h image. */
#include <stdlib.h>
#include <string.h>

#include "vision/vision_internal.h"

void ts_orient_size(int o, int w, int h, int *ow, int *oh) {
    bool swap = o >= 5 && o <= 8;
    *ow = swap ? h : w;
    *oh = swap ? w : h;
}

ts_status ts_image_orient(ts_image *img, int o, const char *name) {
    if (o <= 1 || o > 8) return TS_OK;
    int w = img->width, h = img->height, ow, oh;
    ts_orient_size(o, w, h, &ow, &oh);
    uint8_t *dst = ts_alloc((size_t)w * h, 3);
    if (!dst) return ts_fail(TS_ERR_NOMEM, "%s: out of memory turning a %dx%d image", name, w, h);
    const uint8_t *src = img->rgb;
    /* source of output (x, y) = base + x*dx + y*dy, in pixels */
    ptrdiff_t base, dx, dy;
    switch (o) {
    case 2: /* mirror horizontally */
        base = w - 1, dx = -1, dy = w;
        break;
    case 3: /* rotate 180 */
        base = (ptrdiff_t)(h - 1) * w + w - 1, dx = -1, dy = -w;
        break;
    case 4: /* mirror vertically */
        base = (ptrdiff_t)(h - 1) * w, dx = 1, dy = -w;
        break;
    case 5: /* transpose */
        base = 0, dx = w, dy = 1;
        break;
    case 6: /* rotate 90 clockwise */
        base = (ptrdiff_t)(h - 1) * w, dx = -w, dy = 1;
        break;
    case 7: /* transverse */
        base = (ptrdiff_t)(h - 1) * w + w - 1, dx = -w, dy = -1;
        break;
    default: /* 8: rotate 90 anticlockwise */
        base = w - 1, dx = w, dy = -1;
        break;
    }
    for (int y = 0; y < oh; y++) {
        ptrdiff_t i = base + y * dy; /* index arithmetic: no pointer ever leaves the buffer */
        uint8_t *d = dst + (size_t)y * ow * 3;
        for (int x = 0; x < ow; x++, i += dx, d += 3) {
            const uint8_t *s = src + 3 * i;
            d[0] = s[0], d[1] = s[1], d[2] = s[2];
        }
    }
    free(img->rgb);
    img->rgb = dst;
    img->width = ow;
    img->height = oh;
    return TS_OK;
}
