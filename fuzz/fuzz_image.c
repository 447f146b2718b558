/* libFuzzer target for the image front end: sniff, probe, decode (with and
 * without DCT scaling), orientation, and every fit of ts_image_to_input, on
 * one buffer. Seed corpus: fuzz/corpus/image/. Any crash, leak, sanitizer
 * report or out-of-range output is a bug. */
#include <stdint.h>
#include <stdlib.h>

#include "tessera.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ts_image_format f = ts_image_sniff(data, size);
    ts_image_info info;
    ts_status ps = ts_image_probe_mem(data, size, "fuzz", &info);
    if (ps == TS_OK && (f == TS_IMAGE_UNKNOWN || info.width <= 0 || info.height <= 0 ||
                        info.orientation < 1 || info.orientation > 8))
        abort();
    ts_image img;
    if (ts_image_decode_mem(data, size, "fuzz", 32, &img) == TS_OK) {
        if (ps != TS_OK || !img.rgb || img.width <= 0 || img.height <= 0) abort();
        float out[3 * 32 * 32];
        for (int fit = TS_FIT_STRETCH; fit <= TS_FIT_PAD; fit++) {
            if (ts_image_to_input(&img, 32, (ts_image_fit)fit, out) != TS_OK) abort();
            for (int i = 0; i < 3 * 32 * 32; i++)
                if (!(out[i] >= -1.0f && out[i] <= 1.0f)) abort();
        }
        ts_image_free(&img);
    }
    /* full-size decode only for small images, to keep each run fast */
    if (ps == TS_OK && (uint64_t)info.width * (uint64_t)info.height <= (1u << 20)) {
        if (ts_image_decode_mem(data, size, "fuzz", 0, &img) == TS_OK) {
            bool swap = info.orientation >= 5;
            if (img.width != (swap ? info.height : info.width)) abort();
            float out[3 * 7 * 7];
            if (ts_image_to_input(&img, 7, TS_FIT_CROP, out) != TS_OK) abort();
            ts_image_free(&img);
        }
    }
    return 0;
}
