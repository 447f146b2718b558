/* Internal to text/: the tokenizer's layout, shared by training, encoding
 * and the GGUF reader/writer. */
#ifndef TESSERA_TEXT_BPE_INTERNAL_H
#define TESSERA_TEXT_BPE_INTERNAL_H

#include "tessera/text.h"

/* ---- hashing ------------------------------------------------------------ */
uint64_t bpe_hash_bytes(const uint8_t *p, size_t n);
static inline uint64_t bpe_hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}
static inline uint64_t bpe_pair_key(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

/* (a, b) -> rank, open addressing; keys stored +1 so 0 means empty. */
typedef struct {
    uint64_t *keys;
    int32_t *vals;
    size_t cap; /* power of two */
    size_t n;
} bpe_pairmap;
ts_status bpe_pairmap_init(bpe_pairmap *m, size_t expect);
void bpe_pairmap_free(bpe_pairmap *m);
/* Inserts or finds; returns the slot's value pointer (new slots get -1), or
 * NULL when out of memory. */
int32_t *bpe_pairmap_put(bpe_pairmap *m, uint64_t key);
static inline int32_t bpe_pairmap_get(const bpe_pairmap *m, uint64_t key) {
    size_t mask = m->cap - 1, i = bpe_hash_u64(key) & mask;
    uint64_t k = key + 1;
    for (;;) {
        uint64_t s = m->keys[i];
        if (s == k) return m->vals[i];
        if (!s) return -1;
        i = (i + 1) & mask;
    }
}

/* ---- the word cache: word bytes -> token ids ---------------------------- */
typedef struct {
    uint64_t hash;
    uint32_t key_off, ids_off;
    uint16_t key_len, n_ids; /* key_len 0 = empty slot */
} bpe_cache_slot;
typedef struct {
    bpe_cache_slot *slots;
    size_t cap, n;
    uint8_t *keys;
    size_t keys_len, keys_cap;
    int32_t *ids;
    size_t ids_len, ids_cap;
} bpe_cache;
#define BPE_CACHE_MAX_WORD 64           /* longer words are encoded every time */
#define BPE_CACHE_MAX_ENTRIES (1 << 20) /* then the cache starts over */

struct ts_bpe {
    int n_text; /* 256 + n_merges */
    int n_merges;
    int32_t *merge_left, *merge_right; /* (n_merges,): merge r makes 256 + r */
    bpe_pairmap ranks;                 /* (left, right) -> r */
    /* bytes of every token id in [0, n_text), back to back, and their
     * offsets (n_text + 1,); each token NUL-terminated in the arena */
    uint8_t *tok_bytes;
    uint32_t *tok_off;
    uint32_t *tok_len;
    /* token bytes -> id */
    int32_t *tok_index;
    size_t tok_index_cap;
    bpe_cache cache;
    /* scratch for long words */
    int32_t *scratch;
    size_t scratch_cap;
};

/* A tokenizer of n_merges merges (left/right arrays are taken over) with its
 * tables built; fails if a merge refers to a token not yet made or makes a
 * token that already exists. */
ts_status bpe_build(int32_t *left, int32_t *right, int n_merges, const char *what, ts_bpe **out);

#endif
