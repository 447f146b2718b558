/* Learning BPE merges from text.
 *
 * The text is split into words (pretok.c) and counted once: training works
 * on the table of distinct words and their counts, never on the text again.
 * Every adjacent symbol pair has a count (sum of the counts of the words it
 * occurs in, once per occurrence) and a list of the words it occurs in. A
 * max-heap holds (count, pair) entries that may be stale; a popped entry
 * whose count no longer matches is pushed back with the current count. A
 * merge rewrites only the words on the pair's list and updates the counts
 * of the neighbouring pairs incrementally, so a merge costs what it touches.
 *
 * Ties in count go to the pair with the smaller (left, right) ids, so the
 * result is the same on every machine. A pair whose merged bytes already
 * spell a token is never merged (each token's bytes stay unique). Training
 * stops at the wanted vocabulary or when no pair occurs twice. */
#include "text/bpe_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- the table of distinct words ---------------------------------------- */
typedef struct {
    uint64_t hash;
    size_t off;
    uint32_t len; /* 0 = empty */
    int64_t count;
} word_slot;

typedef struct {
    word_slot *slots;
    size_t cap, n;
    uint8_t *bytes;
    size_t bytes_len, bytes_cap;
} word_table;

static int wt_grow(word_table *t) {
    size_t cap = t->cap ? 2 * t->cap : 1 << 16, mask = cap - 1;
    word_slot *s = ts_calloc(cap, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].len) continue;
        size_t j = t->slots[i].hash & mask;
        while (s[j].len)
            j = (j + 1) & mask;
        s[j] = t->slots[i];
    }
    free(t->slots);
    t->slots = s, t->cap = cap;
    return 0;
}

static int wt_add(word_table *t, const uint8_t *w, size_t len) {
    if (2 * (t->n + 1) > t->cap && wt_grow(t)) return -1;
    uint64_t h = bpe_hash_bytes(w, len);
    size_t mask = t->cap - 1, i = h & mask;
    for (;;) {
        word_slot *s = &t->slots[i];
        if (!s->len) break;
        if (s->hash == h && s->len == len && !memcmp(t->bytes + s->off, w, len)) {
            s->count++;
            return 0;
        }
        i = (i + 1) & mask;
    }
    if (t->bytes_len + len > t->bytes_cap) {
        size_t nc = t->bytes_cap ? t->bytes_cap : 1 << 20;
        while (nc < t->bytes_len + len)
            nc *= 2;
        uint8_t *b = realloc(t->bytes, nc);
        if (!b) return -1;
        t->bytes = b, t->bytes_cap = nc;
    }
    memcpy(t->bytes + t->bytes_len, w, len);
    t->slots[i] = (word_slot){h, t->bytes_len, (uint32_t)len, 1};
    t->bytes_len += len;
    t->n++;
    return 0;
}

/* ---- training state ----------------------------------------------------- */
typedef struct {
    int32_t *v;
    int32_t n, cap;
} ivec;

typedef struct {
    int64_t count;
    int32_t pair;
} heap_entry;

typedef struct {
    /* words: symbols of word w are sym[off[w] .. off[w] + len[w]) */
    int32_t *sym;
    size_t *off;
    int32_t *len;
    int64_t *freq;
    int32_t *stamp; /* last merge that rewrote the word, + 1 */
    int32_t n_words;
    /* pairs */
    bpe_pairmap map; /* (a, b) -> pair index */
    int32_t *pa, *pb;
    int64_t *pcount;
    ivec *where;
    uint8_t *banned;
    int32_t *touched; /* merge that raised the count, + 1 */
    int32_t n_pairs, cap_pairs;
    int32_t *raised; /* pairs whose count rose during this merge */
    int32_t n_raised, cap_raised;
    /* heap */
    heap_entry *heap;
    size_t heap_n, heap_cap;
    /* tokens: bytes, for the duplicate check */
    uint8_t *tok;
    size_t *tok_off, tok_len_total, tok_cap;
    int32_t *tok_index;
    size_t tok_index_cap;
    bool oom;
} trainer;

static int ivec_push(ivec *v, int32_t x) {
    if (v->n == v->cap) {
        int32_t nc = v->cap ? v->cap * 2 : 4;
        int32_t *p = realloc(v->v, (size_t)nc * sizeof *p);
        if (!p) return -1;
        v->v = p, v->cap = nc;
    }
    v->v[v->n++] = x;
    return 0;
}

/* Heap order: higher count first, then smaller (a, b). */
static bool heap_before(const trainer *T, heap_entry x, heap_entry y) {
    if (x.count != y.count) return x.count > y.count;
    if (T->pa[x.pair] != T->pa[y.pair]) return T->pa[x.pair] < T->pa[y.pair];
    return T->pb[x.pair] < T->pb[y.pair];
}

static void heap_push(trainer *T, int32_t pair) {
    if (T->heap_n == T->heap_cap) {
        size_t nc = T->heap_cap ? 2 * T->heap_cap : 1 << 16;
        heap_entry *h = realloc(T->heap, nc * sizeof *h);
        if (!h) {
            T->oom = true;
            return;
        }
        T->heap = h, T->heap_cap = nc;
    }
    heap_entry e = {T->pcount[pair], pair};
    size_t i = T->heap_n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!heap_before(T, e, T->heap[p])) break;
        T->heap[i] = T->heap[p];
        i = p;
    }
    T->heap[i] = e;
}

static heap_entry heap_pop(trainer *T) {
    heap_entry top = T->heap[0], v = T->heap[--T->heap_n];
    size_t i = 0, m = T->heap_n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && heap_before(T, T->heap[c + 1], T->heap[c])) c++;
        if (!heap_before(T, T->heap[c], v)) break;
        T->heap[i] = T->heap[c];
        i = c;
    }
    if (m) T->heap[i] = v;
    return top;
}

static int32_t pair_get(trainer *T, int32_t a, int32_t b) {
    int32_t *v = bpe_pairmap_put(&T->map, bpe_pair_key(a, b));
    if (!v) {
        T->oom = true;
        return -1;
    }
    if (*v < 0) {
        if (T->n_pairs == T->cap_pairs) {
            int32_t nc = T->cap_pairs ? T->cap_pairs * 2 : 1 << 16;
            int32_t *pa = realloc(T->pa, (size_t)nc * sizeof *pa);
            if (pa) T->pa = pa;
            int32_t *pb = realloc(T->pb, (size_t)nc * sizeof *pb);
            if (pb) T->pb = pb;
            int64_t *pc = realloc(T->pcount, (size_t)nc * sizeof *pc);
            if (pc) T->pcount = pc;
            ivec *wh = realloc(T->where, (size_t)nc * sizeof *wh);
            if (wh) T->where = wh;
            uint8_t *bn = realloc(T->banned, (size_t)nc);
            if (bn) T->banned = bn;
            int32_t *tc = realloc(T->touched, (size_t)nc * sizeof *tc);
            if (tc) T->touched = tc;
            if (!pa || !pb || !pc || !wh || !bn || !tc) {
                T->oom = true;
                return -1;
            }
            T->cap_pairs = nc;
        }
        int32_t p = T->n_pairs++;
        T->pa[p] = a, T->pb[p] = b, T->pcount[p] = 0;
        T->where[p] = (ivec){0};
        T->banned[p] = 0, T->touched[p] = 0;
        *v = p;
    }
    return *v;
}

/* Count += f for pair (a, b) in word w; `merge` + 1 marks it for the heap. */
static void pair_add(trainer *T, int32_t a, int32_t b, int64_t f, int32_t w, int32_t merge) {
    int32_t p = pair_get(T, a, b);
    if (p < 0) return;
    T->pcount[p] += f;
    ivec *wh = &T->where[p];
    if ((!wh->n || wh->v[wh->n - 1] != w) && ivec_push(wh, w)) T->oom = true;
    if (merge >= 0 && T->touched[p] != merge + 1) {
        T->touched[p] = merge + 1;
        if (T->n_raised == T->cap_raised) {
            int32_t nc = T->cap_raised ? 2 * T->cap_raised : 1024;
            int32_t *r = realloc(T->raised, (size_t)nc * sizeof *r);
            if (!r) {
                T->oom = true;
                return;
            }
            T->raised = r, T->cap_raised = nc;
        }
        T->raised[T->n_raised++] = p;
    }
}

static void pair_sub(trainer *T, int32_t a, int32_t b, int64_t f) {
    int32_t p = bpe_pairmap_get(&T->map, bpe_pair_key(a, b));
    if (p >= 0) T->pcount[p] -= f;
}

/* Adds token `id` with the bytes of x then y; returns 1 if those bytes
 * already spell a token (then nothing is added), -1 when out of memory. */
static int token_add(trainer *T, int32_t id, int32_t x, int32_t y) {
    size_t lx = T->tok_off[x + 1] - T->tok_off[x], ly = T->tok_off[y + 1] - T->tok_off[y];
    size_t l = lx + ly;
    if (T->tok_len_total + l > T->tok_cap) {
        size_t nc = T->tok_cap * 2;
        while (nc < T->tok_len_total + l)
            nc *= 2;
        uint8_t *b = realloc(T->tok, nc);
        if (!b) return -1;
        T->tok = b, T->tok_cap = nc;
    }
    uint8_t *dst = T->tok + T->tok_len_total;
    memcpy(dst, T->tok + T->tok_off[x], lx);
    memcpy(dst + lx, T->tok + T->tok_off[y], ly);
    uint64_t h = bpe_hash_bytes(dst, l);
    size_t mask = T->tok_index_cap - 1, i = h & mask;
    for (;;) {
        int32_t t = T->tok_index[i];
        if (t < 0) break;
        if (T->tok_off[t + 1] - T->tok_off[t] == l && !memcmp(T->tok + T->tok_off[t], dst, l))
            return 1;
        i = (i + 1) & mask;
    }
    T->tok_index[i] = id;
    T->tok_len_total += l;
    T->tok_off[id + 1] = T->tok_len_total;
    return 0;
}

static void trainer_free(trainer *T) {
    free(T->sym);
    free(T->off);
    free(T->len);
    free(T->freq);
    free(T->stamp);
    bpe_pairmap_free(&T->map);
    for (int32_t p = 0; p < T->n_pairs; p++)
        free(T->where[p].v);
    free(T->pa);
    free(T->pb);
    free(T->pcount);
    free(T->where);
    free(T->banned);
    free(T->touched);
    free(T->raised);
    free(T->heap);
    free(T->tok);
    free(T->tok_off);
    free(T->tok_index);
}

/* Rewrites word w with pair (a, b) merged into c, updating the counts. */
static void merge_word(trainer *T, int32_t w, int32_t a, int32_t b, int32_t c, int32_t merge) {
    int32_t *s = T->sym + T->off[w];
    int32_t n = T->len[w], j = 0;
    int64_t f = T->freq[w];
    for (int32_t i = 0; i < n;) {
        if (i + 1 < n && s[i] == a && s[i + 1] == b) {
            if (j > 0) {
                pair_sub(T, s[j - 1], a, f);
                pair_add(T, s[j - 1], c, f, w, merge);
            }
            if (i + 2 < n) {
                pair_sub(T, b, s[i + 2], f);
                pair_add(T, c, s[i + 2], f, w, merge);
            }
            s[j++] = c;
            i += 2;
        } else {
            s[j++] = s[i++];
        }
    }
    T->len[w] = j;
}

static ts_status train_words(trainer *T, int n_merges_max, ts_bpe_progress_fn progress, void *ctx,
                             int32_t *left, int32_t *right, int *n_merges_out) {
    for (int32_t w = 0; w < T->n_words; w++) {
        int32_t *s = T->sym + T->off[w];
        for (int32_t i = 0; i + 1 < T->len[w]; i++)
            pair_add(T, s[i], s[i + 1], T->freq[w], w, -1);
    }
    for (int32_t p = 0; p < T->n_pairs; p++)
        heap_push(T, p);
    if (T->oom) return ts_fail(TS_ERR_NOMEM, "BPE training: out of memory");
    int r = 0;
    int64_t last = 0;
    while (r < n_merges_max && T->heap_n) {
        heap_entry e = heap_pop(T);
        int32_t p = e.pair;
        if (T->banned[p]) continue;
        if (e.count != T->pcount[p]) { /* stale: requeue at the current count */
            if (T->pcount[p] > 0) heap_push(T, p);
            continue;
        }
        if (e.count < 2) break;
        int32_t a = T->pa[p], b = T->pb[p], c = 256 + r;
        int dup = token_add(T, c, a, b);
        if (dup < 0) return ts_fail(TS_ERR_NOMEM, "BPE training: out of memory");
        if (dup) {
            T->banned[p] = 1;
            continue;
        }
        left[r] = a, right[r] = b;
        T->n_raised = 0;
        /* the list may grow while we walk it (a pair (a, b) can reappear
         * only with new ids, so not this list): index, do not hold a pointer */
        for (int32_t k = 0; k < T->where[p].n; k++) {
            int32_t w = T->where[p].v[k];
            if (T->stamp[w] == r + 1) continue;
            T->stamp[w] = r + 1;
            merge_word(T, w, a, b, c, r);
        }
        T->pcount[p] = 0;
        free(T->where[p].v);
        T->where[p] = (ivec){0};
        for (int32_t k = 0; k < T->n_raised; k++)
            if (T->pcount[T->raised[k]] > 0) heap_push(T, T->raised[k]);
        if (T->oom) return ts_fail(TS_ERR_NOMEM, "BPE training: out of memory");
        last = e.count;
        r++;
        if (progress && r % 256 == 0) progress(ctx, r, n_merges_max, last);
    }
    if (progress) progress(ctx, r, n_merges_max, last);
    *n_merges_out = r;
    return TS_OK;
}

static ts_status train_table(word_table *wt, int vocab_size, ts_bpe_progress_fn progress, void *ctx,
                             ts_bpe **out) {
    trainer T;
    memset(&T, 0, sizeof T);
    int n_merges_max = vocab_size - 256;
    int32_t *left = ts_alloc((size_t)n_merges_max, sizeof *left);
    int32_t *right = ts_alloc((size_t)n_merges_max, sizeof *right);
    ts_status s = TS_OK;
    T.n_words = (int32_t)wt->n;
    T.sym = ts_alloc(wt->bytes_len, sizeof *T.sym);
    T.off = ts_alloc(wt->n, sizeof *T.off);
    T.len = ts_alloc(wt->n, sizeof *T.len);
    T.freq = ts_alloc(wt->n, sizeof *T.freq);
    T.stamp = ts_calloc(wt->n, sizeof *T.stamp);
    T.tok_cap = 4096;
    T.tok = malloc(T.tok_cap);
    T.tok_off = ts_alloc((size_t)vocab_size + 1, sizeof *T.tok_off);
    T.tok_index_cap = 1024;
    while (T.tok_index_cap < 2 * (size_t)vocab_size)
        T.tok_index_cap *= 2;
    T.tok_index = ts_alloc(T.tok_index_cap, sizeof *T.tok_index);
    if (!left || !right || !T.sym || !T.off || !T.len || !T.freq || !T.stamp || !T.tok ||
        !T.tok_off || !T.tok_index) {
        s = ts_fail(TS_ERR_NOMEM, "BPE training: out of memory");
        goto done;
    }
    if ((s = bpe_pairmap_init(&T.map, 1 << 16))) goto done;
    memset(T.tok_index, 0xff, T.tok_index_cap * sizeof *T.tok_index);
    for (int i = 0; i < 256; i++) {
        T.tok[i] = (uint8_t)i;
        T.tok_off[i] = (size_t)i;
        size_t mask = T.tok_index_cap - 1, j = bpe_hash_bytes(T.tok + i, 1) & mask;
        while (T.tok_index[j] >= 0)
            j = (j + 1) & mask;
        T.tok_index[j] = i;
    }
    T.tok_off[256] = T.tok_len_total = 256;
    /* words in table order (deterministic: it depends on the text only) */
    size_t o = 0;
    int32_t w = 0;
    for (size_t i = 0; i < wt->cap; i++) {
        const word_slot *ws = &wt->slots[i];
        if (!ws->len) continue;
        T.off[w] = o;
        T.len[w] = (int32_t)ws->len;
        T.freq[w] = ws->count;
        for (uint32_t k = 0; k < ws->len; k++)
            T.sym[o + k] = wt->bytes[ws->off + k];
        o += ws->len;
        w++;
    }
    int n_merges = 0;
    if ((s = train_words(&T, n_merges_max, progress, ctx, left, right, &n_merges))) goto done;
    trainer_free(&T);
    memset(&T, 0, sizeof T);
    s = bpe_build(left, right, n_merges, "BPE training", out);
    left = right = NULL;
done:
    trainer_free(&T);
    free(left);
    free(right);
    return s;
}

static ts_status count_words(word_table *wt, const uint8_t *text, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t wl = ts_bpe_word_len(text + i, len - i);
        if (wl > 1) { /* one byte has no pair to merge */
            if (wl > UINT32_MAX || wt->n >= INT32_MAX / 2 || wt_add(wt, text + i, wl))
                return ts_fail(TS_ERR_NOMEM, "BPE training: out of memory counting words");
        }
        i += wl;
    }
    return TS_OK;
}

static void wt_free(word_table *wt) {
    free(wt->slots);
    free(wt->bytes);
}

static ts_status check_vocab(int vocab_size) {
    if (vocab_size < 256 || vocab_size > (1 << 20))
        return ts_fail(TS_ERR_USAGE, "BPE: vocabulary size %d is not in [256, %d]", vocab_size,
                       1 << 20);
    return TS_OK;
}

ts_status ts_bpe_train_mem(const uint8_t *const *texts, const size_t *lens, int n_texts,
                           int vocab_size, ts_bpe_progress_fn progress, void *ctx, ts_bpe **out) {
    *out = NULL;
    ts_status s = check_vocab(vocab_size);
    if (s) return s;
    word_table wt = {0};
    for (int i = 0; i < n_texts && !s; i++)
        s = count_words(&wt, texts[i], lens[i]);
    if (!s && !wt.cap && wt_grow(&wt)) s = ts_fail(TS_ERR_NOMEM, "BPE training: out of memory");
    if (!s) s = train_table(&wt, vocab_size, progress, ctx, out);
    wt_free(&wt);
    return s;
}

ts_status ts_bpe_train(const char *const *paths, int n_paths, int vocab_size,
                       ts_bpe_progress_fn progress, void *ctx, ts_bpe **out) {
    *out = NULL;
    ts_status s = check_vocab(vocab_size);
    if (s) return s;
    word_table wt = {0};
    for (int i = 0; i < n_paths && !s; i++) {
        uint8_t *buf;
        size_t len;
        if ((s = ts_read_file(paths[i], 0, &buf, &len))) break;
        s = count_words(&wt, buf, len);
        free(buf);
    }
    if (!s && !wt.cap && wt_grow(&wt)) s = ts_fail(TS_ERR_NOMEM, "BPE training: out of memory");
    if (!s) s = train_table(&wt, vocab_size, progress, ctx, out);
    wt_free(&wt);
    return s;
}
