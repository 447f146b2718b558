/* Pre-tokenized shards: token sequences (media already turned into codes)
 * that decoder training reads without touching an image or a clip.
 *
 * Layout, all integers little-endian:
 *
 *   offset  size  field
 *   0       8     magic "TSSHARD\0"
 *   8       4     u32 version (1)
 *   12      4     u32 n_vocab: every token is in [0, n_vocab)
 *   16      8     u64 n_records
 *   24      8     u64 n_tokens, the sum of the records' n
 *   32      ...   n_records records, each
 *                   u32 n (>= 1)
 *                   i32 tokens[n]
 *                   u8  mask[n]     (0 or 1: where the loss counts)
 *                   0..3 zero bytes, so the next record starts 4-aligned
 *
 * Nothing follows the last record. The reader maps the file and checks
 * every field, token and mask byte once at open, then hands out pointers
 * into the mapping. */
#include "tessera/fusion.h"

#include <stdlib.h>
#include <string.h>

#define SHARD_MAGIC "TSSHARD"
#define SHARD_VERSION 1u
#define SHARD_HEADER 32
#define SHARD_MAX_RECORD (1 << 24) /* tokens per record */

struct ts_shard_writer {
    ts_outfile out;
    int32_t n_vocab;
    uint64_t n_records, n_tokens;
};

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get_u32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t get_u64(const uint8_t *p) {
    return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32;
}

static void header(uint8_t h[SHARD_HEADER], int32_t n_vocab, uint64_t n_records,
                   uint64_t n_tokens) {
    memset(h, 0, SHARD_HEADER);
    memcpy(h, SHARD_MAGIC, 8);
    put_u32(h + 8, SHARD_VERSION);
    put_u32(h + 12, (uint32_t)n_vocab);
    put_u64(h + 16, n_records);
    put_u64(h + 24, n_tokens);
}

ts_status ts_shard_writer_open(const char *path, int32_t n_vocab, ts_shard_writer **out) {
    *out = NULL;
    if (n_vocab < 1) return ts_fail(TS_ERR_USAGE, "%s: shard vocabulary of %d", path, (int)n_vocab);
    ts_shard_writer *w = calloc(1, sizeof *w);
    if (!w) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    ts_status s = ts_outfile_open(&w->out, path);
    if (s) {
        free(w);
        return s;
    }
    w->n_vocab = n_vocab;
    uint8_t h[SHARD_HEADER];
    header(h, n_vocab, 0, 0); /* rewritten at commit */
    fwrite(h, 1, sizeof h, w->out.fp);
    *out = w;
    return TS_OK;
}

ts_status ts_shard_write(ts_shard_writer *w, const int32_t *tokens, const uint8_t *mask, int n) {
    if (n < 1 || n > SHARD_MAX_RECORD)
        return ts_fail(TS_ERR_USAGE, "%s: a record of %d tokens", w->out.path, n);
    for (int i = 0; i < n; i++) {
        if (tokens[i] < 0 || tokens[i] >= w->n_vocab)
            return ts_fail(TS_ERR_USAGE, "%s: token %d is not in [0, %d)", w->out.path,
                           (int)tokens[i], (int)w->n_vocab);
        if (mask && mask[i] > 1)
            return ts_fail(TS_ERR_USAGE, "%s: mask value %d is not 0 or 1", w->out.path, mask[i]);
    }
    uint8_t b[4];
    put_u32(b, (uint32_t)n);
    FILE *fp = w->out.fp;
    fwrite(b, 1, 4, fp);
    for (int i = 0; i < n; i++) {
        put_u32(b, (uint32_t)tokens[i]);
        fwrite(b, 1, 4, fp);
    }
    if (mask) {
        fwrite(mask, 1, (size_t)n, fp);
    } else {
        for (int i = 0; i < n; i++)
            fputc(1, fp);
    }
    for (int i = n; i % 4; i++)
        fputc(0, fp);
    if (ferror(fp)) return ts_fail(TS_ERR_IO, "%s: write failed", w->out.path);
    w->n_records++;
    w->n_tokens += (uint64_t)n;
    return TS_OK;
}

ts_status ts_shard_writer_commit(ts_shard_writer *w) {
    uint8_t h[SHARD_HEADER];
    header(h, w->n_vocab, w->n_records, w->n_tokens);
    ts_status s;
    if (fseek(w->out.fp, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, w->out.fp) != sizeof h) {
        s = ts_fail(TS_ERR_IO, "%s: write failed", w->out.path);
        ts_outfile_abort(&w->out);
    } else {
        s = ts_outfile_commit(&w->out);
    }
    free(w);
    return s;
}

void ts_shard_writer_abort(ts_shard_writer *w) {
    if (!w) return;
    ts_outfile_abort(&w->out);
    free(w);
}

/* ---- reading ------------------------------------------------------------- */
struct ts_shard {
    ts_mapped_file map; /* empty for ts_shard_open_mem */
    const uint8_t *data;
    int32_t n_vocab;
    int64_t n_records, n_tokens;
    uint64_t *off; /* (n_records,) byte offset of each record's n */
};

static ts_status shard_bad(ts_shard *sh, const char *path, const char *what, uint64_t at) {
    ts_status s = ts_fail(TS_ERR_INPUT, "%s: not a valid shard: %s (at byte %llu)", path, what,
                          (unsigned long long)at);
    ts_shard_close(sh);
    return s;
}

/* Validates the shard in p[0, len) and indexes its records into sh. */
static ts_status shard_parse(ts_shard *sh, const uint8_t *p, size_t len, const char *path) {
    if (len < SHARD_HEADER || memcmp(p, SHARD_MAGIC, 8))
        return shard_bad(sh, path, "no TSSHARD header", 0);
    if (get_u32(p + 8) != SHARD_VERSION) return shard_bad(sh, path, "unknown version", 8);
    uint32_t nv = get_u32(p + 12);
    uint64_t nr = get_u64(p + 16), nt = get_u64(p + 24);
    if (nv < 1 || nv > INT32_MAX) return shard_bad(sh, path, "bad vocabulary size", 12);
    /* a record takes at least 12 bytes: check before allocating the index */
    if (nr > (len - SHARD_HEADER) / 12)
        return shard_bad(sh, path, "record count exceeds the file", 16);
    sh->n_vocab = (int32_t)nv;
    sh->off = ts_alloc(nr ? nr : 1, sizeof *sh->off);
    if (!sh->off) {
        ts_shard_close(sh);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory for %llu records", path,
                       (unsigned long long)nr);
    }
    uint64_t at = SHARD_HEADER, tokens = 0;
    for (uint64_t r = 0; r < nr; r++) {
        if (len - at < 4) return shard_bad(sh, path, "truncated record", at);
        uint32_t n = get_u32(p + at);
        if (n < 1 || n > SHARD_MAX_RECORD) return shard_bad(sh, path, "bad record length", at);
        uint64_t size = 4 + 5 * (uint64_t)n, padded = (size + 3) & ~(uint64_t)3;
        if (len - at < padded) return shard_bad(sh, path, "truncated record", at);
        const uint8_t *t = p + at + 4, *m = t + 4 * (size_t)n;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t v = get_u32(t + 4 * (size_t)i);
            if (v >= nv)
                return shard_bad(sh, path, "token out of the vocabulary", at + 4 + 4 * (uint64_t)i);
            if (m[i] > 1)
                return shard_bad(sh, path, "mask byte not 0 or 1", at + 4 + 4 * (uint64_t)n + i);
        }
        for (uint64_t k = size; k < padded; k++)
            if (p[at + k]) return shard_bad(sh, path, "nonzero padding", at + k);
        sh->off[r] = at;
        at += padded;
        tokens += n;
    }
    if (at != len) return shard_bad(sh, path, "bytes after the last record", at);
    if (tokens != nt) return shard_bad(sh, path, "token count does not match the header", 24);
    sh->n_records = (int64_t)nr;
    sh->n_tokens = (int64_t)nt;
    sh->data = p;
    return TS_OK;
}

ts_status ts_shard_open(const char *path, ts_shard **out) {
    *out = NULL;
    ts_shard *sh = calloc(1, sizeof *sh);
    if (!sh) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    ts_status s = ts_map_file(path, &sh->map);
    if (s) {
        free(sh);
        return s;
    }
    if ((s = shard_parse(sh, sh->map.data, sh->map.len, path))) return s; /* sh freed */
    *out = sh;
    return TS_OK;
}

ts_status ts_shard_open_mem(const uint8_t *buf, size_t len, const char *name, ts_shard **out) {
    *out = NULL;
    if ((uintptr_t)buf % 4)
        return ts_fail(TS_ERR_USAGE, "%s: shard buffer is not 4-byte aligned", name);
    ts_shard *sh = calloc(1, sizeof *sh);
    if (!sh) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", name);
    ts_status s = shard_parse(sh, buf, len, name);
    if (s) return s;
    *out = sh;
    return TS_OK;
}

void ts_shard_close(ts_shard *s) {
    if (!s) return;
    ts_unmap_file(&s->map);
    free(s->off);
    free(s);
}

int64_t ts_shard_count(const ts_shard *s) { return s->n_records; }
int64_t ts_shard_total_tokens(const ts_shard *s) { return s->n_tokens; }
int32_t ts_shard_vocab(const ts_shard *s) { return s->n_vocab; }

void ts_shard_get(const ts_shard *s, int64_t i, const int32_t **tokens, const uint8_t **mask,
                  int *n) {
    const uint8_t *p = s->data + s->off[i];
    *n = (int)get_u32(p);
    /* records start 4-aligned in a page-aligned mapping; the host is
     * little-endian (checked in the tests), so the ids can be read in place */
    *tokens = (const int32_t *)(const void *)(p + 4);
    *mask = p + 4 + 4 * (size_t)*n;
}
