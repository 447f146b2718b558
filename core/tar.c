/* A ustar reader over a buffer: every field is checked against the buffer
 * before use, so a truncated or corrupt archive is an error, not a crash. */
#include <string.h>

#include "tessera/dataset.h"

#define TAR_BLOCK 512

void ts_tar_init(ts_tar *t, const uint8_t *data, size_t len, const char *name) {
    t->data = data, t->len = len, t->pos = 0, t->name = name ? name : "tar";
}

/* An octal field (NUL or space terminated); -1 if malformed. Base-256
 * (GNU, high bit set) for big sizes too. */
static int64_t octal(const uint8_t *p, int n) {
    if (p[0] & 0x80) {
        int64_t v = p[0] & 0x7f;
        for (int i = 1; i < n; i++) {
            if (v > (INT64_MAX >> 8)) return -1;
            v = (v << 8) | p[i];
        }
        return v;
    }
    int64_t v = 0;
    int i = 0, digits = 0;
    while (i < n && p[i] == ' ') i++;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++, digits++) {
        if (v > (INT64_MAX >> 3)) return -1;
        v = v * 8 + (p[i] - '0');
    }
    if (i < n && p[i] != 0 && p[i] != ' ') return -1;
    return digits ? v : -1;
}

static bool checksum_ok(const uint8_t *h) {
    int64_t want = octal(h + 148, 8);
    if (want < 0) return false;
    int64_t sum = 0;
    for (int i = 0; i < TAR_BLOCK; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == want;
}

static bool all_zero(const uint8_t *h) {
    for (int i = 0; i < TAR_BLOCK; i++)
        if (h[i]) return false;
    return true;
}

bool ts_tar_sniff(const uint8_t *buf, size_t len) {
    return len >= TAR_BLOCK && !all_zero(buf) && checksum_ok(buf);
}

ts_status ts_tar_next(ts_tar *t, ts_tar_member *m, bool *done) {
    *done = false;
    if (t->pos >= t->len || t->len - t->pos < TAR_BLOCK) {
        if (t->pos == t->len) {
            *done = true;
            return TS_OK;
        }
        return ts_fail(TS_ERR_INPUT, "%s: truncated tar header at offset %zu", t->name, t->pos);
    }
    const uint8_t *h = t->data + t->pos;
    if (all_zero(h)) { /* end-of-archive marker */
        *done = true;
        return TS_OK;
    }
    if (!checksum_ok(h))
        return ts_fail(TS_ERR_INPUT, "%s: bad tar header checksum at offset %zu", t->name, t->pos);
    int64_t size = octal(h + 124, 12);
    if (size < 0)
        return ts_fail(TS_ERR_INPUT, "%s: bad member size at offset %zu", t->name, t->pos);
    size_t avail = t->len - t->pos - TAR_BLOCK;
    if ((uint64_t)size > avail)
        return ts_fail(TS_ERR_INPUT, "%s: member at offset %zu runs past the end", t->name, t->pos);
    m->type = (char)h[156];
    /* name: ustar prefix (155 bytes at 345) + "/" + name (100 bytes) */
    char nm[101], pre[156];
    memcpy(nm, h, 100), nm[100] = 0;
    pre[0] = 0;
    if (!memcmp(h + 257, "ustar", 5)) memcpy(pre, h + 345, 155), pre[155] = 0;
    if (pre[0])
        snprintf(m->name, sizeof m->name, "%s/%s", pre, nm);
    else
        snprintf(m->name, sizeof m->name, "%s", nm);
    m->data = h + TAR_BLOCK;
    m->size = (size_t)size;
    size_t padded = ((size_t)size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
    t->pos += TAR_BLOCK + (padded <= avail ? padded : avail);
    return TS_OK;
}
