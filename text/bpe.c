/* The BPE tokenizer: its tables, encoding (by merge rank, with a word
 * cache), decoding. Training is in bpe_train.c, the GGUF form in bpe_gguf.c. */
#include "text/bpe_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const special_names[TS_N_SPECIALS] = {
    "<bos>", "<eos>", "<pad>", "<img>", "</img>", "<aud>", "</aud>", "<user>", "<assistant>",
};

const char *ts_special_name(int s) { return s >= 0 && s < TS_N_SPECIALS ? special_names[s] : NULL; }

/* ---- hashing and the pair map ------------------------------------------ */
uint64_t bpe_hash_bytes(const uint8_t *p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
        p += 8, n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, p, n);
    h = (h ^ v) * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;
    return h;
}

ts_status bpe_pairmap_init(bpe_pairmap *m, size_t expect) {
    size_t cap = 64;
    while (cap < 2 * expect + 2)
        cap *= 2;
    m->keys = ts_calloc(cap, sizeof *m->keys);
    m->vals = ts_alloc(cap, sizeof *m->vals);
    m->cap = cap, m->n = 0;
    if (!m->keys || !m->vals) {
        bpe_pairmap_free(m);
        return ts_fail(TS_ERR_NOMEM, "BPE: out of memory for the pair table");
    }
    return TS_OK;
}

void bpe_pairmap_free(bpe_pairmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static int pairmap_grow(bpe_pairmap *m) {
    size_t cap = m->cap * 2, mask = cap - 1;
    uint64_t *keys = ts_calloc(cap, sizeof *keys);
    int32_t *vals = ts_alloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return -1;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = bpe_hash_u64(m->keys[i] - 1) & mask;
        while (keys[j])
            j = (j + 1) & mask;
        keys[j] = m->keys[i], vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys, m->vals = vals, m->cap = cap;
    return 0;
}

int32_t *bpe_pairmap_put(bpe_pairmap *m, uint64_t key) {
    if (2 * (m->n + 1) > m->cap && pairmap_grow(m)) return NULL;
    size_t mask = m->cap - 1, i = bpe_hash_u64(key) & mask;
    uint64_t k = key + 1;
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & mask;
    if (!m->keys[i]) {
        m->keys[i] = k;
        m->vals[i] = -1;
        m->n++;
    }
    return &m->vals[i];
}

/* ---- building the tables ------------------------------------------------ */
static uint64_t token_hash(const ts_bpe *t, int32_t id) {
    return bpe_hash_bytes(t->tok_bytes + t->tok_off[id], t->tok_len[id]);
}

int32_t ts_bpe_token_id(const ts_bpe *t, const void *bytes, size_t len) {
    size_t mask = t->tok_index_cap - 1, i = bpe_hash_bytes(bytes, len) & mask;
    for (;;) {
        int32_t id = t->tok_index[i];
        if (id < 0) return -1;
        if (t->tok_len[id] == len && !memcmp(t->tok_bytes + t->tok_off[id], bytes, len)) return id;
        i = (i + 1) & mask;
    }
}

ts_status bpe_build(int32_t *left, int32_t *right, int n_merges, const char *what, ts_bpe **out) {
    *out = NULL;
    ts_bpe *t = calloc(1, sizeof *t);
    if (!t) {
        free(left);
        free(right);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory", what);
    }
    t->merge_left = left, t->merge_right = right;
    t->n_merges = n_merges;
    t->n_text = 256 + n_merges;
    int nt = t->n_text;
    ts_status s = TS_OK;
    t->tok_off = ts_alloc((size_t)nt + 1, sizeof *t->tok_off);
    t->tok_len = ts_alloc((size_t)nt, sizeof *t->tok_len);
    size_t icap = 64;
    while (icap < 2 * (size_t)nt)
        icap *= 2;
    t->tok_index = ts_alloc(icap, sizeof *t->tok_index);
    t->tok_index_cap = icap;
    if (!t->tok_off || !t->tok_len || !t->tok_index) goto nomem;
    memset(t->tok_index, 0xff, icap * sizeof *t->tok_index);
    /* lengths first, so the arena is allocated once */
    uint64_t total = 0;
    for (int i = 0; i < 256; i++)
        t->tok_len[i] = 1;
    total = 256 * 2;
    for (int r = 0; r < n_merges; r++) {
        int32_t a = left[r], b = right[r];
        if (a < 0 || b < 0 || a >= 256 + r || b >= 256 + r) {
            s = ts_fail(TS_ERR_INPUT, "%s: merge %d uses a token that does not exist yet", what, r);
            goto fail;
        }
        uint64_t l = (uint64_t)t->tok_len[a] + t->tok_len[b];
        total += l + 1;
        if (l > UINT32_MAX / 2 || total > UINT32_MAX) {
            s = ts_fail(TS_ERR_INPUT, "%s: tokens too long", what);
            goto fail;
        }
        t->tok_len[256 + r] = (uint32_t)l;
    }
    t->tok_bytes = malloc((size_t)total);
    if (!t->tok_bytes) goto nomem;
    uint32_t off = 0;
    for (int i = 0; i < nt; i++) {
        t->tok_off[i] = off;
        uint8_t *dst = t->tok_bytes + off;
        if (i < 256) {
            dst[0] = (uint8_t)i;
        } else {
            int32_t a = left[i - 256], b = right[i - 256];
            memcpy(dst, t->tok_bytes + t->tok_off[a], t->tok_len[a]);
            memcpy(dst + t->tok_len[a], t->tok_bytes + t->tok_off[b], t->tok_len[b]);
        }
        dst[t->tok_len[i]] = 0;
        off += t->tok_len[i] + 1;
    }
    t->tok_off[nt] = off;
    for (int32_t i = 0; i < nt; i++) {
        size_t mask = icap - 1, j = token_hash(t, i) & mask;
        for (;;) {
            int32_t id = t->tok_index[j];
            if (id < 0) break;
            if (t->tok_len[id] == t->tok_len[i] &&
                !memcmp(t->tok_bytes + t->tok_off[id], t->tok_bytes + t->tok_off[i],
                        t->tok_len[i])) {
                s = ts_fail(TS_ERR_INPUT, "%s: merge %d makes token %d again", what, i - 256, id);
                goto fail;
            }
            j = (j + 1) & mask;
        }
        t->tok_index[j] = i;
    }
    if ((s = bpe_pairmap_init(&t->ranks, (size_t)n_merges))) goto fail;
    for (int r = 0; r < n_merges; r++) {
        int32_t *v = bpe_pairmap_put(&t->ranks, bpe_pair_key(left[r], right[r]));
        if (!v) goto nomem;
        if (*v >= 0) {
            s = ts_fail(TS_ERR_INPUT, "%s: merges %d and %d join the same pair", what, *v, r);
            goto fail;
        }
        *v = r;
    }
    *out = t;
    return TS_OK;
nomem:
    s = ts_fail(TS_ERR_NOMEM, "%s: out of memory", what);
fail:
    ts_bpe_free(t);
    return s;
}

static void cache_free(bpe_cache *c) {
    free(c->slots);
    free(c->keys);
    free(c->ids);
    memset(c, 0, sizeof *c);
}

void ts_bpe_free(ts_bpe *t) {
    if (!t) return;
    free(t->merge_left);
    free(t->merge_right);
    bpe_pairmap_free(&t->ranks);
    free(t->tok_bytes);
    free(t->tok_off);
    free(t->tok_len);
    free(t->tok_index);
    cache_free(&t->cache);
    free(t->scratch);
    free(t);
}

int ts_bpe_n_text(const ts_bpe *t) { return t->n_text; }
int ts_bpe_n_merges(const ts_bpe *t) { return t->n_merges; }

void ts_bpe_merge(const ts_bpe *t, int r, int32_t *left, int32_t *right) {
    *left = r >= 0 && r < t->n_merges ? t->merge_left[r] : -1;
    *right = r >= 0 && r < t->n_merges ? t->merge_right[r] : -1;
}

const char *ts_bpe_piece(const ts_bpe *t, int32_t id, size_t *len) {
    const char *p = NULL;
    size_t l = 0;
    if (id >= 0 && id < t->n_text) {
        p = (const char *)t->tok_bytes + t->tok_off[id];
        l = t->tok_len[id];
    } else if (id >= t->n_text && id < t->n_text + TS_N_SPECIALS) {
        p = special_names[id - t->n_text];
        l = strlen(p);
    }
    if (len) *len = l;
    return p;
}

/* ---- encoding ------------------------------------------------------------ */
static inline int32_t rank_of(const ts_bpe *t, int32_t a, int32_t b) {
    return bpe_pairmap_get(&t->ranks, bpe_pair_key(a, b));
}

/* A short word: find the lowest-rank adjacent pair, merge every occurrence
 * of it left to right, repeat. s holds n byte ids on entry; returns the new
 * length. Ranks of unchanged pairs are kept between rounds. */
static int encode_short(const ts_bpe *t, int32_t *s, int n) {
    int32_t rk[BPE_CACHE_MAX_WORD];
    for (int i = 0; i + 1 < n; i++)
        rk[i] = rank_of(t, s[i], s[i + 1]);
    rk[n - 1] = -1; /* no pair starts at the last symbol */
    while (n >= 2) {
        int32_t best = -1;
        for (int i = 0; i + 1 < n; i++)
            if (rk[i] >= 0 && (best < 0 || rk[i] < best)) best = rk[i];
        if (best < 0) break;
        int32_t c = 256 + best;
        int j = 0;
        for (int i = 0; i < n;) {
            if (i + 1 < n && rk[i] == best) {
                s[j] = c;
                rk[j] = -2; /* recomputed below */
                if (j > 0) rk[j - 1] = -2;
                j++, i += 2;
            } else {
                s[j] = s[i];
                rk[j] = rk[i];
                j++, i++;
            }
        }
        n = j;
        for (int i = 0; i + 1 < n; i++)
            if (rk[i] == -2) rk[i] = rank_of(t, s[i], s[i + 1]);
    }
    return n;
}

/* A long word in O(n log n): a linked list of symbols and a min-heap of
 * (rank, position) candidates, checked when popped. Popping equal ranks
 * leftmost first merges exactly what encode_short merges. */
static void heap_push(uint64_t *h, size_t *n, uint64_t v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p] <= v) break;
        h[i] = h[p];
        i = p;
    }
    h[i] = v;
}

static uint64_t heap_pop(uint64_t *h, size_t *n) {
    uint64_t top = h[0], v = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && h[c + 1] < h[c]) c++;
        if (h[c] >= v) break;
        h[i] = h[c];
        i = c;
    }
    if (m) h[i] = v;
    return top;
}

static ts_status encode_long(ts_bpe *t, int32_t *s, int *n_io) {
    int n = *n_io;
    size_t need = (size_t)n * (2 * sizeof(int32_t) + 3 * sizeof(uint64_t));
    if (need > t->scratch_cap) {
        free(t->scratch);
        t->scratch = malloc(need);
        t->scratch_cap = t->scratch ? need : 0;
        if (!t->scratch) return ts_fail(TS_ERR_NOMEM, "BPE: out of memory for a %d-byte word", n);
    }
    uint64_t *heap = (uint64_t *)t->scratch;
    int32_t *next = (int32_t *)(heap + 3 * (size_t)n), *prev = next + n;
    size_t hn = 0;
    for (int i = 0; i < n; i++) {
        next[i] = i + 1 < n ? i + 1 : -1;
        prev[i] = i - 1;
        if (i + 1 < n) {
            int32_t r = rank_of(t, s[i], s[i + 1]);
            if (r >= 0) heap_push(heap, &hn, ((uint64_t)r << 32) | (uint32_t)i);
        }
    }
    while (hn) {
        uint64_t e = heap_pop(heap, &hn);
        int32_t r = (int32_t)(e >> 32), p = (int32_t)(uint32_t)e;
        if (s[p] < 0 || next[p] < 0 || rank_of(t, s[p], s[next[p]]) != r) continue;
        int32_t q = next[p];
        s[p] = 256 + r;
        s[q] = -1;
        next[p] = next[q];
        if (next[q] >= 0) prev[next[q]] = p;
        if (prev[p] >= 0) {
            int32_t rl = rank_of(t, s[prev[p]], s[p]);
            if (rl >= 0) heap_push(heap, &hn, ((uint64_t)rl << 32) | (uint32_t)prev[p]);
        }
        if (next[p] >= 0) {
            int32_t rr = rank_of(t, s[p], s[next[p]]);
            if (rr >= 0) heap_push(heap, &hn, ((uint64_t)rr << 32) | (uint32_t)p);
        }
    }
    int j = 0;
    for (int i = 0; i >= 0; i = next[i])
        s[j++] = s[i];
    *n_io = j;
    return TS_OK;
}

/* Looks the word up; on a miss returns NULL and the slot to fill. */
static const bpe_cache_slot *cache_find(const bpe_cache *c, const uint8_t *w, size_t len,
                                        uint64_t h, size_t *slot) {
    if (!c->cap) return NULL;
    size_t mask = c->cap - 1, i = h & mask;
    for (;;) {
        const bpe_cache_slot *e = &c->slots[i];
        if (!e->key_len) {
            *slot = i;
            return NULL;
        }
        if (e->hash == h && e->key_len == len && !memcmp(c->keys + e->key_off, w, len)) return e;
        i = (i + 1) & mask;
    }
}

static int grow_buf(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 4096;
    while (nc < need)
        nc *= 2;
    void *q = realloc(*p, nc * elem);
    if (!q) return -1;
    *p = q, *cap = nc;
    return 0;
}

/* Best effort: a failed allocation only means the word is not cached. */
static void cache_insert(bpe_cache *c, const uint8_t *w, size_t len, uint64_t h, const int32_t *ids,
                         int n) {
    if (c->n >= BPE_CACHE_MAX_ENTRIES) { /* start over rather than grow without end */
        memset(c->slots, 0, c->cap * sizeof *c->slots);
        c->n = 0, c->keys_len = 0, c->ids_len = 0;
    }
    if (2 * (c->n + 1) > c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 4096, mask = cap - 1;
        bpe_cache_slot *slots = ts_calloc(cap, sizeof *slots);
        if (!slots) return;
        for (size_t i = 0; i < c->cap; i++) {
            if (!c->slots[i].key_len) continue;
            size_t j = c->slots[i].hash & mask;
            while (slots[j].key_len)
                j = (j + 1) & mask;
            slots[j] = c->slots[i];
        }
        free(c->slots);
        c->slots = slots, c->cap = cap;
    }
    if (grow_buf((void **)&c->keys, &c->keys_cap, c->keys_len + len, 1) ||
        grow_buf((void **)&c->ids, &c->ids_cap, c->ids_len + (size_t)n, sizeof(int32_t)))
        return;
    size_t mask = c->cap - 1, i = h & mask;
    while (c->slots[i].key_len)
        i = (i + 1) & mask;
    bpe_cache_slot *e = &c->slots[i];
    e->hash = h;
    e->key_off = (uint32_t)c->keys_len;
    e->key_len = (uint16_t)len;
    e->ids_off = (uint32_t)c->ids_len;
    e->n_ids = (uint16_t)n;
    memcpy(c->keys + c->keys_len, w, len);
    memcpy(c->ids + c->ids_len, ids, (size_t)n * sizeof *ids);
    c->keys_len += len, c->ids_len += (size_t)n;
    c->n++;
}

ts_status ts_bpe_encode(ts_bpe *t, const void *text, size_t len, int32_t **ids, size_t *n,
                        size_t *cap) {
    const uint8_t *p = text;
    size_t i = 0;
    while (i < len) {
        size_t wl = ts_bpe_word_len(p + i, len - i);
        if (*n + wl > *cap) {
            size_t nc = *cap ? *cap * 2 : 256;
            while (nc < *n + wl)
                nc *= 2;
            int32_t *q = realloc(*ids, nc * sizeof *q);
            if (!q) return ts_fail(TS_ERR_NOMEM, "BPE: out of memory for %zu tokens", nc);
            *ids = q, *cap = nc;
        }
        int32_t *s = *ids + *n;
        const uint8_t *w = p + i;
        if (wl == 1) {
            s[0] = w[0];
            *n += 1;
        } else if (wl <= BPE_CACHE_MAX_WORD) {
            uint64_t h = bpe_hash_bytes(w, wl);
            size_t slot = 0;
            const bpe_cache_slot *e = cache_find(&t->cache, w, wl, h, &slot);
            if (e) {
                memcpy(s, t->cache.ids + e->ids_off, e->n_ids * sizeof *s);
                *n += e->n_ids;
            } else {
                for (size_t k = 0; k < wl; k++)
                    s[k] = w[k];
                int m = encode_short(t, s, (int)wl);
                cache_insert(&t->cache, w, wl, h, s, m);
                *n += (size_t)m;
            }
        } else {
            if (wl > INT32_MAX / 4)
                return ts_fail(TS_ERR_INPUT, "BPE: a word of %zu bytes is too long", wl);
            for (size_t k = 0; k < wl; k++)
                s[k] = w[k];
            int m = (int)wl;
            ts_status st = encode_long(t, s, &m);
            if (st) return st;
            *n += (size_t)m;
        }
        i += wl;
    }
    return TS_OK;
}

/* ---- decoding ------------------------------------------------------------ */
ts_status ts_bpe_decode(const ts_bpe *t, const int32_t *ids, size_t n, char **out, size_t *len) {
    *out = NULL;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        if (!ts_bpe_piece(t, ids[i], &l))
            return ts_fail(TS_ERR_INPUT, "token id %d at %zu is not text (vocabulary of %d + %d)",
                           (int)ids[i], i, t->n_text, TS_N_SPECIALS);
        total += l;
    }
    char *buf = malloc(total + 1);
    if (!buf) return ts_fail(TS_ERR_NOMEM, "BPE: out of memory decoding %zu tokens", n);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l;
        const char *p = ts_bpe_piece(t, ids[i], &l);
        memcpy(buf + o, p, l);
        o += l;
    }
    buf[o] = 0;
    *out = buf;
    if (len) *len = o;
    return TS_OK;
}
