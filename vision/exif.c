/* EXIF orientation: tag 0x0112 of IFD0 in the TIFF structure that EXIF
 * wraps, both byte orders, every offset checked against the buffer. We
 * parse only this one tag; anything malformed means "no orientation". */
#include <string.h>

#include "vision/vision_internal.h"

static unsigned rd16(const uint8_t *p, int big) {
    return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t rd32(const uint8_t *p, int big) {
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

int ts_exif_orientation_tiff(const uint8_t *t, size_t len) {
    if (!t || len < 8) return 1;
    int big;
    if (t[0] == 'I' && t[1] == 'I')
        big = 0;
    else if (t[0] == 'M' && t[1] == 'M')
        big = 1;
    else
        return 1;
    if (rd16(t + 2, big) != 42) return 1;
    uint32_t ifd = rd32(t + 4, big);
    if (ifd < 8 || ifd > len || len - ifd < 2) return 1;
    unsigned count = rd16(t + ifd, big);
    /* entries are 12 bytes each; only those wholly inside the buffer */
    size_t avail = (len - ifd - 2) / 12;
    if (count > avail) count = (unsigned)avail;
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *e = t + ifd + 2 + (size_t)i * 12;
        if (rd16(e, big) != 0x0112) continue;
        unsigned type = rd16(e + 2, big);
        uint32_t n = rd32(e + 4, big);
        unsigned v;
        if (type == 3 && n >= 1)
            v = rd16(e + 8, big); /* SHORT, the standard */
        else if (type == 4 && n >= 1)
            v = rd32(e + 8, big); /* LONG, seen in the wild */
        else
            return 1;
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}

int ts_exif_orientation_jpeg(const uint8_t *b, size_t len) {
    if (len < 4 || b[0] != 0xFF || b[1] != 0xD8) return 1;
    size_t p = 2;
    while (p + 4 <= len) {
        if (b[p] != 0xFF) return 1; /* not at a marker: give up quietly */
        while (p < len && b[p] == 0xFF)
            p++; /* fill bytes */
        if (p >= len) return 1;
        unsigned m = b[p++];
        if (m == 0xD9 || m == 0xDA) return 1; /* EOI, or the first scan: no EXIF before it */
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; /* no length */
        if (p + 2 > len) return 1;
        size_t seg = (size_t)b[p] << 8 | b[p + 1];
        if (seg < 2 || seg > len - p) return 1;
        if (m == 0xE1 && seg >= 2 + 6 + 8 && !memcmp(b + p + 2, "Exif\0\0", 6))
            return ts_exif_orientation_tiff(b + p + 8, seg - 8);
        p += seg;
    }
    return 1;
}
