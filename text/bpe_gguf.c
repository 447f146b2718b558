/* The tokenizer in GGUF, as llama.cpp's "gpt2" tokenizer stores it: token
 * strings spelled with GPT-2's byte-to-unicode mapping (every byte becomes a
 * printable character: 'Ġ' for a space), merges as "left right" strings,
 * token types, and the ids of <bos> and <eos>. */
#include "text/bpe_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TYPE_NORMAL = 1, TYPE_CONTROL = 3 };

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes map to themselves,
 * the other 68 bytes to U+0100 onwards in byte order. */
static void byte_to_cp_table(uint16_t cp[256]) {
    int n = 0;
    for (int b = 0; b < 256; b++) {
        bool keep = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
        cp[b] = keep ? (uint16_t)b : (uint16_t)(256 + n++);
    }
}

/* Spells bytes in the mapping (each byte becomes 1 or 2 UTF-8 bytes). */
static char *spell(const uint16_t cp[256], const uint8_t *p, size_t n) {
    char *s = malloc(2 * n + 1), *o = s;
    if (!s) return NULL;
    for (size_t i = 0; i < n; i++) {
        uint16_t c = cp[p[i]];
        if (c < 0x80) {
            *o++ = (char)c;
        } else {
            *o++ = (char)(0xC0 | (c >> 6));
            *o++ = (char)(0x80 | (c & 0x3F));
        }
    }
    *o = 0;
    return s;
}

/* Reverses spell(): returns the byte count, or -1 if s is not a spelling. */
static long unspell(const int16_t inv[0x180], const char *s, size_t n, uint8_t *out) {
    long k = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = (uint8_t)s[i];
        uint32_t v;
        if (c < 0x80) {
            v = c, i += 1;
        } else if ((c & 0xE0) == 0xC0 && i + 1 < n && ((uint8_t)s[i + 1] & 0xC0) == 0x80) {
            v = ((uint32_t)(c & 0x1F) << 6) | ((uint8_t)s[i + 1] & 0x3F);
            i += 2;
        } else {
            return -1;
        }
        if (v >= 0x180 || inv[v] < 0) return -1;
        out[k++] = (uint8_t)inv[v];
    }
    return k;
}

ts_status ts_bpe_save(const ts_bpe *t, int n_codes, ts_gguf_writer *w) {
    if (n_codes < 0) return ts_fail(TS_ERR_USAGE, "BPE: negative code count %d", n_codes);
    uint16_t cp[256];
    byte_to_cp_table(cp);
    size_t n_tok = (size_t)t->n_text + TS_N_SPECIALS + (size_t)n_codes;
    char **tokens = ts_calloc(n_tok, sizeof *tokens);
    char **merges = ts_calloc((size_t)t->n_merges, sizeof *merges);
    int32_t *types = ts_alloc(n_tok, sizeof *types);
    ts_status s = TS_OK;
    if (!tokens || !merges || !types) goto nomem;
    for (int i = 0; i < t->n_text; i++) {
        if (!(tokens[i] = spell(cp, t->tok_bytes + t->tok_off[i], t->tok_len[i]))) goto nomem;
        types[i] = TYPE_NORMAL;
    }
    for (int i = 0; i < TS_N_SPECIALS; i++) {
        if (!(tokens[t->n_text + i] = strdup(ts_special_name(i)))) goto nomem;
        types[t->n_text + i] = TYPE_CONTROL;
    }
    for (int i = 0; i < n_codes; i++) {
        size_t k = (size_t)t->n_text + TS_N_SPECIALS + (size_t)i;
        char buf[32];
        snprintf(buf, sizeof buf, "<code_%d>", i);
        if (!(tokens[k] = strdup(buf))) goto nomem;
        types[k] = TYPE_CONTROL;
    }
    for (int r = 0; r < t->n_merges; r++) {
        const char *l = tokens[t->merge_left[r]], *rt = tokens[t->merge_right[r]];
        size_t ll = strlen(l), lr = strlen(rt);
        if (!(merges[r] = malloc(ll + lr + 2))) goto nomem;
        memcpy(merges[r], l, ll);
        merges[r][ll] = ' ';
        memcpy(merges[r] + ll + 1, rt, lr + 1);
    }
    ts_gguf_set_str(w, "tokenizer.ggml.model", "gpt2");
    ts_gguf_set_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)tokens, n_tok);
    ts_gguf_set_arr(w, "tokenizer.ggml.token_type", TS_GGUF_I32, types, n_tok);
    ts_gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)merges,
                        (size_t)t->n_merges);
    ts_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)(t->n_text + TS_TOK_BOS));
    ts_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)(t->n_text + TS_TOK_EOS));
    ts_gguf_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)(t->n_text + TS_TOK_PAD));
    goto done;
nomem:
    s = ts_fail(TS_ERR_NOMEM, "BPE: out of memory writing the tokenizer");
done:
    if (tokens)
        for (size_t i = 0; i < n_tok; i++)
            free(tokens[i]);
    if (merges)
        for (int r = 0; r < t->n_merges; r++)
            free(merges[r]);
    free(tokens);
    free(merges);
    free(types);
    return s;
}

ts_status ts_bpe_load(const ts_gguf *g, ts_bpe **out) {
    *out = NULL;
    const char *model;
    ts_status s = ts_gguf_get_str(g, "tokenizer.ggml.model", &model);
    if (s) return ts_fail(TS_ERR_INPUT, "model file has no tokenizer (tokenizer.ggml.model)");
    if (strcmp(model, "gpt2"))
        return ts_fail(TS_ERR_INPUT, "tokenizer.ggml.model is '%s', not 'gpt2'", model);
    ts_gguf_type et;
    const void *data;
    size_t n_tok, n_merges;
    if ((s = ts_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &data, &n_tok))) return s;
    if (et != TS_GGUF_STRING) return ts_fail(TS_ERR_INPUT, "tokenizer.ggml.tokens: not strings");
    if ((s = ts_gguf_get_arr(g, "tokenizer.ggml.merges", &et, &data, &n_merges))) return s;
    if (et != TS_GGUF_STRING) return ts_fail(TS_ERR_INPUT, "tokenizer.ggml.merges: not strings");
    if (n_merges > (1 << 20) || n_tok < 256 + n_merges + TS_N_SPECIALS)
        return ts_fail(TS_ERR_INPUT,
                       "tokenizer: %zu tokens do not hold 256 bytes, %zu merges and %d specials",
                       n_tok, n_merges, TS_N_SPECIALS);
    int n_text = 256 + (int)n_merges;
    for (int i = 0; i < TS_N_SPECIALS; i++) {
        const char *str;
        size_t len;
        if ((s = ts_gguf_get_arr_str(g, "tokenizer.ggml.tokens", (size_t)n_text + i, &str, &len)))
            return s;
        if (len != strlen(ts_special_name(i)) || memcmp(str, ts_special_name(i), len))
            return ts_fail(TS_ERR_INPUT, "tokenizer: token %d is not %s", n_text + i,
                           ts_special_name(i));
    }
    uint32_t bos, eos;
    if ((s = ts_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos)) ||
        (s = ts_gguf_get_u32(g, "tokenizer.ggml.eos_token_id", &eos)))
        return s;
    if (bos != (uint32_t)(n_text + TS_TOK_BOS) || eos != (uint32_t)(n_text + TS_TOK_EOS))
        return ts_fail(TS_ERR_INPUT, "tokenizer: <bos>/<eos> ids %u/%u are not %d/%d", bos, eos,
                       n_text + TS_TOK_BOS, n_text + TS_TOK_EOS);

    uint16_t cp[256];
    byte_to_cp_table(cp);
    int16_t inv[0x180];
    memset(inv, 0xff, sizeof inv);
    for (int b = 0; b < 256; b++)
        inv[cp[b]] = (int16_t)b;
    /* The byte tokens must come first and in order; then merge r must be
     * spelled "L R" for two earlier tokens and make token 256 + r. We check
     * that by building the tokenizer from the merges and comparing every
     * token's bytes with the file's spelling. */
    int32_t *left = ts_alloc(n_merges, sizeof *left), *right = ts_alloc(n_merges, sizeof *right);
    /* index of spellings seen so far: bytes -> id, for the merges' halves */
    size_t icap = 1024;
    while (icap < 2 * (size_t)n_text)
        icap *= 2;
    int32_t *index = ts_alloc(icap, sizeof *index);
    size_t *off = ts_alloc((size_t)n_text + 1, sizeof *off);
    uint8_t *bytes = NULL, *buf = NULL;
    size_t bytes_cap = 0, buf_cap = 0;
    ts_bpe *t = NULL;
    if (!left || !right || !index || !off) goto nomem;
    memset(index, 0xff, icap * sizeof *index);
    off[0] = 0;
    for (int i = 0; i < n_text; i++) {
        const char *str;
        size_t len;
        if ((s = ts_gguf_get_arr_str(g, "tokenizer.ggml.tokens", (size_t)i, &str, &len))) goto fail;
        if (off[i] + len > bytes_cap) {
            size_t nc = bytes_cap ? 2 * bytes_cap : 1 << 16;
            while (nc < off[i] + len)
                nc *= 2;
            uint8_t *nb = realloc(bytes, nc);
            if (!nb) goto nomem;
            bytes = nb, bytes_cap = nc;
        }
        long k = unspell(inv, str, len, bytes + off[i]);
        if (k <= 0 || (i < 256 && (k != 1 || bytes[off[i]] != i))) {
            s = ts_fail(TS_ERR_INPUT, "tokenizer: token %d '%.40s' is not %s", i, str,
                        i < 256 ? "the expected byte token" : "in the GPT-2 byte spelling");
            goto fail;
        }
        off[i + 1] = off[i] + (size_t)k;
        size_t mask = icap - 1, j = bpe_hash_bytes(bytes + off[i], (size_t)k) & mask;
        for (;;) {
            int32_t id = index[j];
            if (id < 0) break;
            if (off[id + 1] - off[id] == (size_t)k &&
                !memcmp(bytes + off[id], bytes + off[i], (size_t)k)) {
                s = ts_fail(TS_ERR_INPUT, "tokenizer: tokens %d and %d are the same bytes", id, i);
                goto fail;
            }
            j = (j + 1) & mask;
        }
        index[j] = i;
    }
    for (size_t r = 0; r < n_merges; r++) {
        const char *str;
        size_t len;
        if ((s = ts_gguf_get_arr_str(g, "tokenizer.ggml.merges", r, &str, &len))) goto fail;
        const char *sp = memchr(str, ' ', len);
        if (!sp || memchr(sp + 1, ' ', len - (size_t)(sp + 1 - str))) {
            s = ts_fail(TS_ERR_INPUT, "tokenizer: merge %zu '%.40s' is not 'left right'", r, str);
            goto fail;
        }
        if (len > buf_cap) {
            uint8_t *nb = realloc(buf, len);
            if (!nb) goto nomem;
            buf = nb, buf_cap = len;
        }
        int32_t ids[2];
        const char *part[2] = {str, sp + 1};
        size_t plen[2] = {(size_t)(sp - str), len - (size_t)(sp + 1 - str)};
        for (int h = 0; h < 2; h++) {
            long k = unspell(inv, part[h], plen[h], buf);
            ids[h] = -1;
            if (k > 0) {
                size_t mask = icap - 1, j = bpe_hash_bytes(buf, (size_t)k) & mask;
                for (; index[j] >= 0; j = (j + 1) & mask) {
                    int32_t id = index[j];
                    if (off[id + 1] - off[id] == (size_t)k &&
                        !memcmp(bytes + off[id], buf, (size_t)k)) {
                        ids[h] = id;
                        break;
                    }
                }
            }
            if (ids[h] < 0 || ids[h] >= 256 + (int32_t)r) {
                s = ts_fail(TS_ERR_INPUT,
                            "tokenizer: merge %zu '%.40s' uses a token made later or not at all", r,
                            str);
                goto fail;
            }
        }
        int32_t c = 256 + (int32_t)r;
        size_t la = off[ids[0] + 1] - off[ids[0]], lb = off[ids[1] + 1] - off[ids[1]];
        if (off[c + 1] - off[c] != la + lb || memcmp(bytes + off[c], bytes + off[ids[0]], la) ||
            memcmp(bytes + off[c] + la, bytes + off[ids[1]], lb)) {
            s = ts_fail(TS_ERR_INPUT, "tokenizer: merge %zu does not make token %d", r, c);
            goto fail;
        }
        left[r] = ids[0], right[r] = ids[1];
    }
    s = bpe_build(left, right, (int)n_merges, "tokenizer", &t);
    left = right = NULL;
    if (!s) *out = t;
    goto fail;
nomem:
    s = ts_fail(TS_ERR_NOMEM, "tokenizer: out of memory");
fail:
    free(left);
    free(right);
    free(index);
    free(off);
    free(bytes);
    free(buf);
    return s;
}
