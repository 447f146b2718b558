/* Training and evaluation collections: images from folders of PNG/JPEG,
 * tar archives of them and MNIST idx(.gz) files; audio clips from folders of
 * anything the audio front end decodes. Kinds are found from content.
 * Images are kept as 8-bit planar 3 x S x S (the front end's [-1, 1] floats
 * map back exactly for 8-bit sources at S x S), clips as log-mel floats. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tessera/audio.h"
#include "tessera/dataset.h"
#include "tessera/image.h"
#include "tessera/vqvae.h"

struct ts_vq_data {
    int S, n_mels, frames;
    uint8_t *img; /* (n_img, 3, S, S) */
    int n_img, cap_img;
    float *aud; /* (n_aud, n_mels, frames) */
    int n_aud, cap_aud;
};

ts_vq_data *ts_vq_data_new(int image_size, int n_mels, int frames) {
    ts_vq_data *d = calloc(1, sizeof *d);
    if (d) d->S = image_size, d->n_mels = n_mels, d->frames = frames;
    return d;
}

void ts_vq_data_free(ts_vq_data *d) {
    if (!d) return;
    free(d->img);
    free(d->aud);
    free(d);
}

int ts_vq_data_n_images(const ts_vq_data *d) { return d->n_img; }
int ts_vq_data_n_audio(const ts_vq_data *d) { return d->n_aud; }

void ts_vq_data_image(const ts_vq_data *d, int i, float *out) {
    size_t n = (size_t)3 * d->S * d->S;
    const uint8_t *p = d->img + (size_t)i * n;
    for (size_t j = 0; j < n; j++) out[j] = p[j] * (2.0f / 255.0f) - 1.0f;
}

void ts_vq_data_audio(const ts_vq_data *d, int i, float *out) {
    size_t n = (size_t)d->n_mels * d->frames;
    memcpy(out, d->aud + (size_t)i * n, n * sizeof *out);
}

static uint8_t *img_slot(ts_vq_data *d) {
    size_t n = (size_t)3 * d->S * d->S;
    if (d->n_img == d->cap_img) {
        int cap = d->cap_img ? d->cap_img * 2 : 1024;
        uint8_t *p = realloc(d->img, (size_t)cap * n);
        if (!p) return NULL;
        d->img = p, d->cap_img = cap;
    }
    return d->img + (size_t)d->n_img * n;
}

static ts_status add_image_floats(ts_vq_data *d, const float *x) {
    uint8_t *p = img_slot(d);
    if (!p) return ts_fail(TS_ERR_NOMEM, "out of memory for images");
    size_t n = (size_t)3 * d->S * d->S;
    for (size_t j = 0; j < n; j++) {
        float v = roundf((x[j] + 1.0f) * 127.5f);
        p[j] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    d->n_img++;
    return TS_OK;
}

ts_status ts_vq_data_add_image(ts_vq_data *d, const float *x) { return add_image_floats(d, x); }

typedef struct {
    int max, taken;
    const char *exclude, *only;
} source;

/* Does base match one of the comma-separated patterns? */
static bool matches(const char *base, const char *pats) {
    const char *p = pats;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        bool prefix = l > 0 && *p == '^';
        const char *pat = p + prefix;
        size_t pl = l - prefix;
        if (l > 3 && !strncmp(p, "sc%", 3)) { /* held-out speech-commands speakers */
            char speaker[64];
            size_t sl = strcspn(base, "_");
            if (!strncmp(base + sl, "_nohash_", 8) && sl < sizeof speaker) {
                memcpy(speaker, base, sl);
                speaker[sl] = 0;
                if (ts_sc_speaker_is_val(speaker, atoi(p + 3))) return true;
            }
        } else if (pl > 0) {
            if (prefix ? !strncmp(base, pat, pl) : false) return true;
            if (!prefix)
                for (const char *b = base; *b; b++)
                    if (!strncmp(b, pat, pl)) return true;
        }
        if (!e) break;
        p = e + 1;
    }
    return false;
}

static bool want(const source *src, const char *name) {
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (src->exclude && matches(base, src->exclude)) return false;
    if (src->only && !matches(base, src->only)) return false;
    return true;
}
static bool full(const source *src) { return src->max > 0 && src->taken >= src->max; }

static ts_status add_mnist(ts_vq_data *d, const uint8_t *buf, size_t len, const char *name,
                           source *src) {
    uint8_t *px;
    int count, rows, cols;
    ts_status s = ts_mnist_read_mem(buf, len, name, &px, &count, &rows, &cols);
    if (s) return s;
    const int S = d->S;
    if (rows > S || cols > S) {
        free(px);
        return ts_fail(TS_ERR_INPUT, "%s: %dx%d digits do not fit %dx%d", name, rows, cols, S, S);
    }
    /* padded to S x S with background (0), grey repeated over R, G, B */
    int top = (S - rows) / 2, left = (S - cols) / 2;
    for (int i = 0; i < count && !full(src); i++) {
        uint8_t *p = img_slot(d);
        if (!p) {
            free(px);
            return ts_fail(TS_ERR_NOMEM, "out of memory for images");
        }
        memset(p, 0, (size_t)3 * S * S);
        for (int y = 0; y < rows; y++)
            for (int x = 0; x < cols; x++) {
                uint8_t v = px[((size_t)i * rows + y) * cols + x];
                for (int c = 0; c < 3; c++) p[((size_t)c * S + top + y) * S + left + x] = v;
            }
        d->n_img++, src->taken++;
    }
    free(px);
    return TS_OK;
}

static ts_status add_image_buf(ts_vq_data *d, const uint8_t *buf, size_t len, const char *name,
                               source *src, bool strict);

static ts_status add_tar(ts_vq_data *d, const uint8_t *buf, size_t len, const char *name,
                         source *src) {
    ts_tar t;
    ts_tar_init(&t, buf, len, name);
    char full_name[1024];
    for (;;) {
        ts_tar_member m;
        bool done;
        ts_status s = ts_tar_next(&t, &m, &done);
        if (s) return s;
        if (done || full(src)) return TS_OK;
        if ((m.type != '0' && m.type != 0) || !want(src, m.name)) continue;
        snprintf(full_name, sizeof full_name, "%s:%s", name, m.name);
        if ((s = add_image_buf(d, m.data, m.size, full_name, src, false))) return s;
    }
}

/* strict: a file the user named must be an image; inside folders and tars
 * other files are skipped. */
static ts_status add_image_buf(ts_vq_data *d, const uint8_t *buf, size_t len, const char *name,
                               source *src, bool strict) {
    if (ts_image_sniff(buf, len) != TS_IMAGE_UNKNOWN) {
        float *x = malloc((size_t)3 * d->S * d->S * sizeof *x);
        if (!x) return ts_fail(TS_ERR_NOMEM, "out of memory");
        ts_status s = ts_image_load_input_mem(buf, len, name, d->S, TS_FIT_STRETCH, x);
        if (!s) s = add_image_floats(d, x), src->taken++;
        free(x);
        return s;
    }
    if (ts_mnist_sniff(buf, len)) return add_mnist(d, buf, len, name, src);
    if (ts_tar_sniff(buf, len)) return add_tar(d, buf, len, name, src);
    if (strict) return ts_fail(TS_ERR_INPUT, "%s: not a PNG, JPEG, MNIST idx or tar file", name);
    return TS_OK;
}

static ts_status add_audio_buf(ts_vq_data *d, const uint8_t *buf, size_t len, const char *name,
                               source *src, bool strict) {
    if (!ts_audio_sniff(buf, len)) {
        if (strict) return ts_fail(TS_ERR_INPUT, "%s: not an audio file tessera reads", name);
        return TS_OK;
    }
    float *pcm = NULL, *mel = NULL;
    size_t n;
    ts_status s = ts_audio_load_mem(buf, len, name, &pcm, &n);
    if (s) return s;
    /* centre crop or zero-pad to exactly frames * hop samples */
    size_t want_n = (size_t)d->frames * TS_HOP;
    float *clip = calloc(want_n, sizeof *clip);
    if (!clip) {
        free(pcm);
        return ts_fail(TS_ERR_NOMEM, "out of memory");
    }
    if (n >= want_n)
        memcpy(clip, pcm + (n - want_n) / 2, want_n * sizeof *clip);
    else
        memcpy(clip + (want_n - n) / 2, pcm, n * sizeof *clip);
    free(pcm);
    int T;
    s = ts_logmel(clip, want_n, 1, &mel, &T);
    free(clip);
    if (s) return ts_fail(s, "%s: %s", name, ts_last_error());
    if (T != d->frames) {
        free(mel);
        return ts_fail(TS_ERR_INTERNAL, "%s: log-mel has %d frames, expected %d", name, T,
                       d->frames);
    }
    size_t per = (size_t)d->n_mels * d->frames;
    if (d->n_aud == d->cap_aud) {
        int cap = d->cap_aud ? d->cap_aud * 2 : 256;
        float *p = realloc(d->aud, (size_t)cap * per * sizeof *p);
        if (!p) {
            free(mel);
            return ts_fail(TS_ERR_NOMEM, "out of memory for audio");
        }
        d->aud = p, d->cap_aud = cap;
    }
    memcpy(d->aud + (size_t)d->n_aud * per, mel, per * sizeof *mel);
    free(mel);
    d->n_aud++, src->taken++;
    return TS_OK;
}

typedef ts_status (*add_fn)(ts_vq_data *, const uint8_t *, size_t, const char *, source *, bool);

/* Files of a folder in sorted order (the same data order on every system),
 * recursing into sub-folders. */
static ts_status add_path(ts_vq_data *d, const char *path, source *src, add_fn fn, bool top) {
    struct stat st;
    if (stat(path, &st) != 0) return ts_fail(TS_ERR_INPUT, "%s: no such file or folder", path);
    if (S_ISDIR(st.st_mode)) {
        char **names;
        int n;
        ts_status s = ts_list_dir(path, "", &names, &n);
        for (int i = 0; i < n && !s && !full(src); i++) {
            size_t l = strlen(path) + strlen(names[i]) + 2;
            char *p = malloc(l);
            if (!p) {
                s = ts_fail(TS_ERR_NOMEM, "out of memory");
                break;
            }
            snprintf(p, l, "%s/%s", path, names[i]);
            s = add_path(d, p, src, fn, false);
            free(p);
        }
        ts_free_names(names, n);
        return s;
    }
    if (!S_ISREG(st.st_mode)) return top ? ts_fail(TS_ERR_INPUT, "%s: not a regular file", path) : TS_OK;
    if (!top && !want(src, path)) return TS_OK;
    ts_mapped_file f;
    ts_status s = ts_map_file(path, &f);
    if (s) return s;
    s = fn(d, f.data, f.len, path, src, top);
    ts_unmap_file(&f);
    return s;
}

ts_status ts_vq_data_add_images(ts_vq_data *d, const char *path, int max) {
    source src = {.max = max};
    ts_status s = add_path(d, path, &src, add_image_buf, true);
    if (!s && src.taken == 0) return ts_fail(TS_ERR_INPUT, "%s: no images found", path);
    return s;
}

ts_status ts_vq_data_add_audio(ts_vq_data *d, const char *path, int max, const char *exclude,
                               const char *only) {
    source src = {.max = max, .exclude = exclude, .only = only};
    ts_status s = add_path(d, path, &src, add_audio_buf, true);
    if (!s && src.taken == 0) return ts_fail(TS_ERR_INPUT, "%s: no audio clips found", path);
    return s;
}
