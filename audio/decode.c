/* Audio decoding with libsndfile, always from memory (sf_open_virtual), so
 * the fuzzer, `tessera info` and file loading share one path.
 *
 * stb-style: the container is found from the magic bytes, the header fields
 * that size allocations (rate, channels, length) are checked before
 * anything is allocated, samples are streamed block by block through the
 * down-mix and the resampler, so memory is bounded by the 16 kHz output. */
#include <ctype.h>
#include <math.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>

#include "audio/resample.h"
#include "tessera/audio.h"

#define BLOCK_FRAMES 4096

typedef enum { KIND_NONE = 0, KIND_WAV, KIND_RIFX, KIND_RF64, KIND_FLAC, KIND_OGG, KIND_AIFF } kind;

static kind sniff(const uint8_t *b, size_t len) {
    if (len >= 12 && !memcmp(b + 8, "WAVE", 4)) {
        if (!memcmp(b, "RIFF", 4)) return KIND_WAV;
        if (!memcmp(b, "RIFX", 4)) return KIND_RIFX;
        if (!memcmp(b, "RF64", 4)) return KIND_RF64;
    }
    if (len >= 4 && !memcmp(b, "fLaC", 4)) return KIND_FLAC;
    if (len >= 4 && !memcmp(b, "OggS", 4)) return KIND_OGG;
    if (len >= 12 && !memcmp(b, "FORM", 4) &&
        (!memcmp(b + 8, "AIFF", 4) || !memcmp(b + 8, "AIFC", 4)))
        return KIND_AIFF;
    return KIND_NONE;
}

bool ts_audio_sniff(const uint8_t *buf, size_t len) { return buf && sniff(buf, len) != KIND_NONE; }

static const char *kind_label(kind k) {
    switch (k) {
    case KIND_WAV:
    case KIND_RIFX:
    case KIND_RF64:
        return "WAV";
    case KIND_FLAC:
        return "FLAC";
    case KIND_OGG:
        return "Ogg";
    case KIND_AIFF:
        return "AIFF";
    default:
        return "audio";
    }
}

static uint32_t rd32(const uint8_t *p, bool be) {
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint16_t rd16(const uint8_t *p, bool be) {
    return (uint16_t)(be ? p[0] << 8 | p[1] : p[1] << 8 | p[0]);
}

static ts_status check_rate_channels(const char *name, const char *what, int64_t rate, int64_t ch) {
    if (ch < 1 || ch > TS_MAX_AUDIO_CHANNELS)
        return ts_fail(TS_ERR_INPUT, "%s: %s header claims %lld channels (1..%d supported)", name,
                       what, (long long)ch, TS_MAX_AUDIO_CHANNELS);
    if (rate < TS_MIN_AUDIO_RATE || rate > TS_MAX_AUDIO_RATE)
        return ts_fail(TS_ERR_INPUT,
                       "%s: %s header claims a sample rate of %lld Hz (%d..%d Hz supported)", name,
                       what, (long long)rate, TS_MIN_AUDIO_RATE, TS_MAX_AUDIO_RATE);
    return TS_OK;
}

static ts_status check_duration(const char *name, int64_t frames, int64_t rate) {
    if (rate > 0 && frames > 0 && (double)frames / (double)rate > TS_MAX_AUDIO_SECONDS)
        return ts_fail(TS_ERR_INPUT, "%s: %.0f seconds of audio, over the limit of %.0f seconds",
                       name, (double)frames / (double)rate, TS_MAX_AUDIO_SECONDS);
    return TS_OK;
}

/* RIFF/RIFX/RF64: the "fmt " chunk's channels and rate, and a data chunk
 * that claims more bytes than the file holds (a truncated file). */
static ts_status precheck_wav(const uint8_t *b, size_t len, kind k, const char *name) {
    bool be = k == KIND_RIFX;
    size_t off = 12;
    bool have_fmt = false;
    for (int guard = 0; guard < 4096 && off + 8 <= len; guard++) {
        const uint8_t *c = b + off;
        uint32_t size = rd32(c + 4, be);
        if (!memcmp(c, "fmt ", 4)) {
            if (size < 16 || off + 8 + 16 > len)
                return ts_fail(TS_ERR_INPUT, "%s: WAV fmt chunk is truncated", name);
            ts_status s = check_rate_channels(name, "WAV", rd32(c + 12, be), rd16(c + 10, be));
            if (s) return s;
            have_fmt = true;
        } else if (!memcmp(c, "data", 4)) {
            if (!have_fmt) return TS_OK; /* libsndfile names the problem */
            size_t avail = len - off - 8;
            if (k != KIND_RF64 && size != 0xffffffffu && size > 0 && size > avail)
                return ts_fail(TS_ERR_INPUT,
                               "%s: truncated WAV: data chunk declares %u bytes, file holds %zu",
                               name, size, avail);
            return TS_OK;
        }
        if (size == 0xffffffffu) break;
        off += 8 + (size_t)size + (size & 1);
    }
    if (!have_fmt) return ts_fail(TS_ERR_INPUT, "%s: WAV file has no fmt chunk", name);
    return ts_fail(TS_ERR_INPUT, "%s: WAV file has no data chunk (truncated?)", name);
}

/* FLAC STREAMINFO: 20-bit rate, 3-bit channels-1, 5-bit bps-1, 36-bit total. */
static ts_status precheck_flac(const uint8_t *b, size_t len, const char *name, int64_t *total) {
    *total = 0;
    if (len < 8 + 18) return ts_fail(TS_ERR_INPUT, "%s: truncated FLAC header", name);
    if ((b[4] & 0x7f) != 0)
        return ts_fail(TS_ERR_INPUT, "%s: FLAC stream does not start with STREAMINFO", name);
    const uint8_t *si = b + 8;
    int64_t rate = (int64_t)si[10] << 12 | si[11] << 4 | si[12] >> 4;
    int ch = ((si[12] >> 1) & 7) + 1;
    ts_status s = check_rate_channels(name, "FLAC", rate, ch);
    if (s) return s;
    *total = (int64_t)(si[13] & 0x0f) << 32 | (int64_t)rd32(si + 14, true);
    return check_duration(name, *total, rate);
}

/* First Ogg page: a Vorbis or Opus identification header. */
static ts_status precheck_ogg(const uint8_t *b, size_t len, const char *name) {
    if (len < 27) return ts_fail(TS_ERR_INPUT, "%s: truncated Ogg page header", name);
    size_t nseg = b[26], off = 27 + nseg;
    if (off > len) return ts_fail(TS_ERR_INPUT, "%s: truncated Ogg page header", name);
    const uint8_t *p = b + off;
    size_t rest = len - off;
    if (rest >= 16 && p[0] == 1 && !memcmp(p + 1, "vorbis", 6))
        return check_rate_channels(name, "Vorbis", rd32(p + 12, false), p[11]);
    if (rest >= 16 && !memcmp(p, "OpusHead", 8))
        return check_rate_channels(name, "Opus", 48000, p[9]);
    return TS_OK; /* libsndfile decides */
}

/* ---- libsndfile virtual I/O over a memory buffer ----------------------- */

typedef struct {
    const uint8_t *buf;
    sf_count_t len, pos;
} membuf;

static sf_count_t vio_len(void *u) { return ((membuf *)u)->len; }
static sf_count_t vio_seek(sf_count_t off, int whence, void *u) {
    membuf *m = u;
    sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? m->pos : m->len;
    if (off > m->len || off < -m->len) return -1; /* also keeps base + off from overflowing */
    sf_count_t p = base + off;
    if (p < 0 || p > m->len) return -1;
    m->pos = p;
    return p;
}
static sf_count_t vio_read(void *ptr, sf_count_t count, void *u) {
    membuf *m = u;
    if (count <= 0 || m->pos >= m->len) return 0;
    sf_count_t n = m->len - m->pos < count ? m->len - m->pos : count;
    memcpy(ptr, m->buf + m->pos, (size_t)n);
    m->pos += n;
    return n;
}
static sf_count_t vio_write(const void *ptr, sf_count_t count, void *u) { return 0; }
static sf_count_t vio_tell(void *u) { return ((membuf *)u)->pos; }

/* libsndfile's message as one lower-case line without the final period. */
static const char *sf_message(SNDFILE *sf, char *out, size_t cap) {
    const char *m = sf_strerror(sf);
    if (!m || !*m) m = "unknown libsndfile error";
    size_t n = 0;
    for (; m[n] && n + 1 < cap; n++)
        out[n] = (m[n] == '\n' || m[n] == '\r') ? ' ' : m[n];
    while (n && (out[n - 1] == '.' || out[n - 1] == ' '))
        n--;
    out[n] = 0;
    if (!strncmp(out, "Error : ", 8)) memmove(out, out + 8, strlen(out + 8) + 1);
    out[0] = (char)tolower((unsigned char)out[0]);
    return out;
}

typedef struct {
    SNDFILE *sf;
    SF_INFO si;
    membuf mb;
    kind k;
    int64_t header_frames; /* FLAC STREAMINFO total, 0 when unknown */
} opened;

static ts_status open_mem(const uint8_t *buf, size_t len, const char *name, opened *o) {
    memset(o, 0, sizeof *o);
    if (!buf || len == 0) return ts_fail(TS_ERR_INPUT, "%s: empty file", name);
    if (len > TS_MAX_AUDIO_FILE_BYTES)
        return ts_fail(TS_ERR_INPUT, "%s: file is %zu bytes, over the limit of %zu", name, len,
                       TS_MAX_AUDIO_FILE_BYTES);
    o->k = sniff(buf, len);
    ts_status s = TS_OK;
    switch (o->k) {
    case KIND_NONE:
        return ts_fail(TS_ERR_INPUT, "%s: not an audio file (WAV, FLAC, Ogg/Vorbis, AIFF)", name);
    case KIND_WAV:
    case KIND_RIFX:
    case KIND_RF64:
        s = precheck_wav(buf, len, o->k, name);
        break;
    case KIND_FLAC:
        s = precheck_flac(buf, len, name, &o->header_frames);
        break;
    case KIND_OGG:
        s = precheck_ogg(buf, len, name);
        break;
    case KIND_AIFF:
        break;
    }
    if (s) return s;
    SF_VIRTUAL_IO vio = {vio_len, vio_seek, vio_read, vio_write, vio_tell};
    o->mb = (membuf){buf, (sf_count_t)len, 0};
    o->sf = sf_open_virtual(&vio, SFM_READ, &o->si, &o->mb);
    if (!o->sf) {
        char msg[256];
        return ts_fail(TS_ERR_INPUT, "%s: not a valid %s file: %s", name, kind_label(o->k),
                       sf_message(NULL, msg, sizeof msg));
    }
    s = check_rate_channels(name, kind_label(o->k), o->si.samplerate, o->si.channels);
    if (!s && (o->si.frames < 0))
        s = ts_fail(TS_ERR_INPUT, "%s: %s header gives a negative length", name, kind_label(o->k));
    if (!s && o->si.frames != SF_COUNT_MAX)
        s = check_duration(name, o->si.frames, o->si.samplerate);
    if (s) {
        sf_close(o->sf);
        o->sf = NULL;
    }
    return s;
}

static void describe(const opened *o, ts_audio_info *info) {
    int major = o->si.format & SF_FORMAT_TYPEMASK, sub = o->si.format & SF_FORMAT_SUBMASK;
    const char *cont = major == SF_FORMAT_FLAC                                ? "flac"
                       : major == SF_FORMAT_OGG                               ? "ogg"
                       : major == SF_FORMAT_RF64                              ? "rf64"
                       : major == SF_FORMAT_AIFF                              ? "aiff"
                       : (major == SF_FORMAT_WAV || major == SF_FORMAT_WAVEX) ? "wav"
                                                                              : "other";
    const char *codec = "other";
    int bits = 0;
    switch (sub) {
    case SF_FORMAT_PCM_S8:
        codec = "pcm_s8", bits = 8;
        break;
    case SF_FORMAT_PCM_U8:
        codec = "pcm_u8", bits = 8;
        break;
    case SF_FORMAT_PCM_16:
        codec = "pcm_s16", bits = 16;
        break;
    case SF_FORMAT_PCM_24:
        codec = "pcm_s24", bits = 24;
        break;
    case SF_FORMAT_PCM_32:
        codec = "pcm_s32", bits = 32;
        break;
    case SF_FORMAT_FLOAT:
        codec = "pcm_f32", bits = 32;
        break;
    case SF_FORMAT_DOUBLE:
        codec = "pcm_f64", bits = 64;
        break;
    case SF_FORMAT_ULAW:
        codec = "mulaw", bits = 8;
        break;
    case SF_FORMAT_ALAW:
        codec = "alaw", bits = 8;
        break;
    case SF_FORMAT_IMA_ADPCM:
        codec = "ima_adpcm", bits = 4;
        break;
    case SF_FORMAT_MS_ADPCM:
        codec = "ms_adpcm", bits = 4;
        break;
    case SF_FORMAT_GSM610:
        codec = "gsm610";
        break;
    case SF_FORMAT_VORBIS:
        codec = "vorbis";
        break;
    case SF_FORMAT_OPUS:
        codec = "opus";
        break;
    default:
        break;
    }
    if (major == SF_FORMAT_FLAC) codec = "flac"; /* subtype gives the bit depth only */
    memset(info, 0, sizeof *info);
    snprintf(info->container, sizeof info->container, "%s", cont);
    snprintf(info->codec, sizeof info->codec, "%s", codec);
    info->sample_rate = o->si.samplerate;
    info->channels = o->si.channels;
    info->frames = o->si.frames == SF_COUNT_MAX ? -1 : o->si.frames;
    info->seconds = info->frames < 0 ? -1.0 : (double)info->frames / o->si.samplerate;
    info->bits = bits;
}

ts_status ts_audio_probe_mem(const uint8_t *buf, size_t len, const char *name,
                             ts_audio_info *info) {
    if (!name) name = "<memory>";
    opened o;
    ts_status s = open_mem(buf, len, name, &o);
    if (s) return s;
    describe(&o, info);
    sf_close(o.sf);
    return TS_OK;
}

ts_status ts_audio_probe_file(const char *path, ts_audio_info *info) {
    ts_mapped_file f;
    ts_status s = ts_map_file(path, &f);
    if (s) return s;
    s = ts_audio_probe_mem(f.data, f.len, path, info);
    ts_unmap_file(&f);
    return s;
}

/* The mean of the channels of n interleaved frames; mono is passed through. */
static const float *downmix(const float *restrict in, int ch, size_t n, float *restrict mono) {
    if (ch == 1) return in;
    if (ch == 2) {
        for (size_t i = 0; i < n; i++)
            mono[i] = (in[2 * i] + in[2 * i + 1]) * 0.5f;
        return mono;
    }
    const float inv = 1.0f / (float)ch;
    for (size_t i = 0; i < n; i++) {
        const float *f = in + i * (size_t)ch;
        float acc = f[0];
        for (int c = 1; c < ch; c++)
            acc += f[c];
        mono[i] = acc * inv;
    }
    return mono;
}

/* Float files may clip a little past +-1, but nothing real comes near
 * 2^16: such values (and NaN, infinity) would overflow the resampler's sums
 * into NaN, so they are refused. Tested on the bits: exponent >= 2^16. */
#define TS_AUDIO_MAX_ABS_SAMPLE 65536.0f
static bool all_plausible(const float *x, size_t n) {
    uint32_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], 4);
        bad |= (uint32_t)((u & 0x7f800000u) >= 0x47800000u); /* |x| >= 2^16, inf, NaN */
    }
    return !bad;
}

ts_status ts_audio_load_mem(const uint8_t *buf, size_t len, const char *name, float **samples,
                            size_t *n) {
    *samples = NULL;
    *n = 0;
    if (!name) name = "<memory>";
    opened o;
    ts_status s = open_mem(buf, len, name, &o);
    if (s) return s;
    int ch = o.si.channels, rate = o.si.samplerate;
    int64_t max_frames = (int64_t)(TS_MAX_AUDIO_SECONDS * rate);
    ts_resampler *rs = NULL;
    float *block = ts_alloc_floats((size_t)BLOCK_FRAMES * (size_t)ch);
    float *mono = ts_alloc_floats(BLOCK_FRAMES);
    ts_fbuf out = {0};
    out.max_n = (size_t)(TS_MAX_AUDIO_SECONDS * TS_SAMPLE_RATE) + 4096;
    if (!block || !mono) s = ts_fail(TS_ERR_NOMEM, "%s: out of memory", name);
    if (!s) s = ts_resampler_new(rate, TS_RESAMPLE_RECIPE_DEFAULT, name, &rs);
    if (!s && o.si.frames > 0 && o.si.frames != SF_COUNT_MAX) {
        /* room for the whole output at once, but never more than the file's
         * size could plausibly hold: the header may lie */
        double want = (double)o.si.frames * TS_SAMPLE_RATE / rate + 64;
        double cap = 4.0 * (double)len + 65536;
        s = ts_fbuf_reserve(&out, (size_t)(want < cap ? want : cap), name);
    }
    int64_t total = 0;
    while (!s) {
        sf_count_t got = sf_readf_float(o.sf, block, BLOCK_FRAMES);
        if (got <= 0) break;
        total += got;
        if (total > max_frames) {
            s = ts_fail(TS_ERR_INPUT, "%s: audio is longer than the limit of %.0f seconds", name,
                        TS_MAX_AUDIO_SECONDS);
            break;
        }
        const float *m = downmix(block, ch, (size_t)got, mono);
        if (!all_plausible(m, (size_t)got)) {
            s = ts_fail(TS_ERR_INPUT,
                        "%s: audio contains non-finite samples (NaN, infinity, or |x| >= %.0f)",
                        name, TS_AUDIO_MAX_ABS_SAMPLE);
            break;
        }
        s = ts_resampler_push(rs, m, (size_t)got, &out);
    }
    if (!s) {
        char msg[256] = "";
        bool err = sf_error(o.sf) != SF_ERR_NO_ERROR;
        if (err) sf_message(o.sf, msg, sizeof msg);
        if (o.k == KIND_FLAC && o.header_frames > 0 && total < o.header_frames)
            s = ts_fail(
                TS_ERR_INPUT,
                "%s: truncated or corrupt FLAC: header declares %lld frames, %lld decoded%s%s",
                name, (long long)o.header_frames, (long long)total, err ? ": " : "", msg);
        else if (err)
            s = ts_fail(TS_ERR_INPUT, "%s: decoding failed: %s", name, msg);
    }
    if (!s) s = ts_resampler_push(rs, NULL, 0, &out);
    ts_resampler_free(rs);
    free(block);
    free(mono);
    sf_close(o.sf);
    if (s) {
        free(out.data);
        return s;
    }
    if (!out.data) { /* no samples at all: still hand back a valid pointer */
        out.data = malloc(sizeof(float));
        if (!out.data) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", name);
    }
    *samples = out.data;
    *n = out.n;
    return TS_OK;
}

ts_status ts_audio_load_file(const char *path, float **samples, size_t *n) {
    *samples = NULL;
    *n = 0;
    ts_mapped_file f;
    ts_status s = ts_map_file(path, &f);
    if (s) return s;
    s = ts_audio_load_mem(f.data, f.len, path, samples, n);
    ts_unmap_file(&f);
    return s;
}
