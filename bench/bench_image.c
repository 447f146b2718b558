/* Image front end speed: (a) images per second through decode -> resize ->
 * normalise for the 32x32 JPEGs of a CIFAR-10 tar, read from memory, on one
 * thread; (b) one 12-megapixel JPEG (made here) to a 32x32 input, in ms,
 * with and without DCT-domain scaling; (c) libjpeg-turbo's IDCT and
 * upsampling choices on the same images: speed and difference from the
 * accurate default. bench/run_image.sh runs this beside bench/peer_image.py
 * (Pillow + numpy) and prints the ratios.
 *
 *   build/bench/bench_image [CIFAR_TAR] [12MP_JPEG_OUT]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "tessera.h"

#define REPS 5

typedef struct {
    const uint8_t **data;
    size_t *len;
    int n;
} members;

/* Plain ustar: a 512-byte header (size in octal at 124), data padded to 512. */
static int read_tar(const uint8_t *t, size_t n, members *m) {
    int cap = 0;
    memset(m, 0, sizeof *m);
    for (size_t off = 0; off + 512 <= n;) {
        const uint8_t *h = t + off;
        if (!h[0]) break;
        size_t size = strtoull((const char *)h + 124, NULL, 8);
        if (off + 512 + size > n) return -1;
        if (h[156] == '0' || h[156] == 0) {
            if (m->n == cap) {
                cap = cap ? 2 * cap : 1024;
                m->data = realloc(m->data, sizeof *m->data * cap);
                m->len = realloc(m->len, sizeof *m->len * cap);
            }
            m->data[m->n] = h + 512;
            m->len[m->n++] = size;
        }
        off += 512 + (size + 511) / 512 * 512;
    }
    return m->n;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* A 4000 x 3000 photo-like pattern: gradients, rings and noise. */
static int write_12mp(const char *path) {
    const int w = 4000, h = 3000;
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = w, c.image_height = h, c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    uint8_t *row = malloc((size_t)w * 3);
    ts_rng r;
    ts_rng_seed(&r, 12);
    while (c.next_scanline < (unsigned)h) {
        int y = (int)c.next_scanline;
        for (int x = 0; x < w; x++) {
            double ring = 0.5 + 0.5 * sin(hypot(x - 2000.0, y - 1500.0) * 0.02);
            int n = (int)ts_rng_below(&r, 24) - 12;
            int v[3] = {(int)(255.0 * x / w) + n, (int)(255.0 * y / h) + n,
                        (int)(255.0 * ring) + n};
            for (int k = 0; k < 3; k++)
                row[x * 3 + k] = (uint8_t)(v[k] < 0 ? 0 : v[k] > 255 ? 255 : v[k]);
        }
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return fclose(f);
}

/* libjpeg directly, for the IDCT / upsampling comparison. */
static void decode_with(const uint8_t *buf, size_t len, J_DCT_METHOD dct, boolean fancy,
                        uint8_t *out) {
    struct jpeg_decompress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, buf, (unsigned long)len);
    jpeg_read_header(&c, TRUE);
    c.out_color_space = JCS_RGB;
    c.dct_method = dct;
    c.do_fancy_upsampling = fancy;
    jpeg_start_decompress(&c);
    while (c.output_scanline < c.output_height) {
        JSAMPROW row = out + (size_t)c.output_scanline * c.output_width * 3;
        jpeg_read_scanlines(&c, &row, 1);
    }
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
}

int main(int argc, char **argv) {
    const char *tar = argc > 1 ? argv[1] : "/work/shared/data/cifar10/test.tar";
    const char *big = argc > 2 ? argv[2] : "/tmp/tessera-bench-12mp.jpg";
    uint8_t *t;
    size_t tn;
    if (ts_read_file(tar, 0, &t, &tn)) {
        fprintf(stderr, "bench_image: %s\n", ts_last_error());
        return 2;
    }
    members m;
    if (read_tar(t, tn, &m) <= 0) {
        fprintf(stderr, "bench_image: %s: not a tar of images\n", tar);
        return 2;
    }
    float *out = malloc(sizeof(float) * 3 * 32 * 32);
    double times[REPS], checksum = 0;
    /* (a) decode -> resize -> normalise, one thread */
    for (int r = 0; r < REPS; r++) {
        double t0 = ts_now();
        for (int i = 0; i < m.n; i++) {
            if (ts_image_load_input_mem(m.data[i], m.len[i], "member", 32, TS_FIT_STRETCH, out)) {
                fprintf(stderr, "bench_image: %s\n", ts_last_error());
                return 2;
            }
            checksum += out[i % 3072];
        }
        times[r] = ts_now() - t0;
    }
    double sec = median(times, REPS);
    printf("cifar_images_per_s %.0f\n", m.n / sec);
    printf("cifar_us_per_image %.2f\n", 1e6 * sec / m.n);
    fprintf(stderr, "# (a) %d images x %d reps, median %.3f s, checksum %.3f\n", m.n, REPS, sec,
            checksum);

    /* (a') the same through the batch call on a 2-thread pool (information
     * only: the target is for one thread) */
    {
        float *outs = malloc(sizeof(float) * 3 * 32 * 32 * (size_t)m.n);
        ts_pool *pool = ts_pool_new(2);
        for (int r = 0; r < REPS; r++) {
            double t0 = ts_now();
            if (ts_image_load_input_batch(pool, m.n, (const uint8_t *const *)m.data, m.len, NULL,
                                          32, TS_FIT_STRETCH, outs, NULL)) {
                fprintf(stderr, "bench_image: %s\n", ts_last_error());
                return 2;
            }
            times[r] = ts_now() - t0;
        }
        printf("cifar_batch_2threads_images_per_s %.0f\n", m.n / median(times, REPS));
        ts_pool_free(pool);
        free(outs);
    }

    /* (c) IDCT method and chroma upsampling on the same images (raw decode only) */
    const struct {
        const char *name;
        J_DCT_METHOD dct;
        boolean fancy;
    } cfg[] = {{"islow+fancy", JDCT_ISLOW, TRUE},
               {"ifast+fancy", JDCT_IFAST, TRUE},
               {"islow+plain", JDCT_ISLOW, FALSE},
               {"ifast+plain", JDCT_IFAST, FALSE}};
    uint8_t *ref = malloc((size_t)m.n * 3072), *px = malloc(3072 * 4);
    for (int i = 0; i < m.n; i++)
        decode_with(m.data[i], m.len[i], JDCT_ISLOW, TRUE, ref + (size_t)i * 3072);
    for (size_t k = 0; k < sizeof cfg / sizeof *cfg; k++) {
        double diff = 0;
        int maxd = 0;
        for (int r = 0; r < REPS; r++) {
            double t0 = ts_now();
            for (int i = 0; i < m.n; i++)
                decode_with(m.data[i], m.len[i], cfg[k].dct, cfg[k].fancy, px);
            times[r] = ts_now() - t0;
        }
        for (int i = 0; i < m.n; i++) {
            decode_with(m.data[i], m.len[i], cfg[k].dct, cfg[k].fancy, px);
            for (int j = 0; j < 3072; j++) {
                int d = abs((int)px[j] - (int)ref[(size_t)i * 3072 + j]);
                diff += d;
                if (d > maxd) maxd = d;
            }
        }
        printf("decode_%s_images_per_s %.0f mean_abs_diff %.3f max_abs_diff %d\n", cfg[k].name,
               m.n / median(times, REPS), diff / ((double)m.n * 3072), maxd);
    }
    free(ref), free(px);

    /* (b) one 12-megapixel JPEG to 32x32 */
    if (write_12mp(big)) {
        fprintf(stderr, "bench_image: cannot write %s\n", big);
        return 4;
    }
    uint8_t *b;
    size_t bn;
    if (ts_read_file(big, 0, &b, &bn)) return 2;
    for (int r = 0; r < REPS; r++) {
        double t0 = ts_now();
        if (ts_image_load_input_mem(b, bn, big, 32, TS_FIT_STRETCH, out)) return 2;
        times[r] = ts_now() - t0;
    }
    printf("jpeg12mp_ms %.2f\n", 1e3 * median(times, REPS));
    /* the same without DCT scaling: full decode, then area average */
    for (int r = 0; r < 3; r++) {
        double t0 = ts_now();
        ts_image img;
        if (ts_image_decode_mem(b, bn, big, 0, &img) ||
            ts_image_to_input(&img, 32, TS_FIT_STRETCH, out))
            return 2;
        ts_image_free(&img);
        times[r] = ts_now() - t0;
    }
    printf("jpeg12mp_full_decode_ms %.2f\n", 1e3 * median(times, 3));
    fprintf(stderr, "# (b) %s: %zu bytes\n", big, bn);
    free(b), free(out), free(t), free(m.data), free(m.len);
    return 0;
}
