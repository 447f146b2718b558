/* text/: word splitting, BPE training (merges checked by hand), encoding
 * against a naive reference, exact round trips, the GGUF form, the CLI. */
#include "tessera.h"
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------- */
static ts_bpe *train_str(const char *text, size_t len, int vocab) {
    const uint8_t *t[1] = {(const uint8_t *)text};
    size_t l[1] = {len};
    ts_bpe *tok = NULL;
    assert_int_equal(ts_bpe_train_mem(t, l, 1, vocab, NULL, NULL, &tok), TS_OK);
    return tok;
}

static void assert_roundtrip(ts_bpe *tok, const uint8_t *text, size_t len) {
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(ts_bpe_encode(tok, text, len, &ids, &n, &cap), TS_OK);
    assert_true(n <= len);
    for (size_t i = 0; i < n; i++)
        assert_true(ids[i] >= 0 && ids[i] < ts_bpe_n_text(tok));
    char *back;
    size_t blen;
    assert_int_equal(ts_bpe_decode(tok, ids, n, &back, &blen), TS_OK);
    assert_int_equal(blen, len);
    assert_memory_equal(back, text, len);
    free(back);
    free(ids);
}

/* Text from a small set of syllables, so that training finds many merges;
 * with UTF-8 letters, digits, punctuation, spaces and newlines mixed in. */
static char *random_text(ts_rng *r, size_t len, bool long_words) {
    static const char *const syl[] = {"th", "e",  "an", "ing", "s", "qu", "ion", "é",
                                      "ü",  "ka", "ro", "z",   "ł", "中", "x"};
    static const char *const sep[] = {" ",  " ",  " ",  " ",    ", ", ".\n",  "  ",
                                      " (", ") ", "\t", " 42 ", "—",  "\xff", " 7"};
    char *s = malloc(len + 64);
    size_t n = 0;
    while (n < len) {
        int w = 1 + (int)ts_rng_below(r, long_words && ts_rng_below(r, 20) == 0 ? 120 : 4);
        for (int k = 0; k < w && n < len; k++) {
            const char *p = syl[ts_rng_below(r, sizeof syl / sizeof *syl)];
            size_t l = strlen(p);
            memcpy(s + n, p, l);
            n += l;
        }
        const char *p = sep[ts_rng_below(r, sizeof sep / sizeof *sep)];
        size_t l = strlen(p);
        memcpy(s + n, p, l);
        n += l;
    }
    s[n] = 0;
    return s;
}

/* The definition of BPE encoding, written for clarity: per word, merge
 * every occurrence of the lowest-rank pair left to right, until none. */
static void naive_encode(const ts_bpe *tok, const uint8_t *text, size_t len, int32_t **ids,
                         size_t *n) {
    int nt = ts_bpe_n_text(tok), nm = ts_bpe_n_merges(tok);
    int32_t *rank = malloc((size_t)nt * nt * sizeof *rank);
    for (size_t i = 0; i < (size_t)nt * nt; i++)
        rank[i] = -1;
    for (int r = 0; r < nm; r++) {
        int32_t a, b;
        ts_bpe_merge(tok, r, &a, &b);
        rank[(size_t)a * nt + b] = r;
    }
    int32_t *out = malloc((len + 1) * sizeof *out), *s = malloc((len + 1) * sizeof *s);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        size_t wl = ts_bpe_word_len(text + i, len - i);
        size_t m = wl;
        for (size_t k = 0; k < wl; k++)
            s[k] = text[i + k];
        for (;;) {
            int32_t best = -1;
            for (size_t k = 0; k + 1 < m; k++) {
                int32_t r = rank[(size_t)s[k] * nt + s[k + 1]];
                if (r >= 0 && (best < 0 || r < best)) best = r;
            }
            if (best < 0) break;
            int32_t a, b;
            ts_bpe_merge(tok, best, &a, &b);
            size_t j = 0;
            for (size_t k = 0; k < m;) {
                if (k + 1 < m && s[k] == a && s[k + 1] == b) {
                    s[j++] = 256 + best;
                    k += 2;
                } else {
                    s[j++] = s[k++];
                }
            }
            m = j;
        }
        memcpy(out + o, s, m * sizeof *s);
        o += m;
        i += wl;
    }
    free(s);
    free(rank);
    *ids = out;
    *n = o;
}

static const char *piece_str(const ts_bpe *tok, int32_t id) {
    static char buf[256];
    size_t l;
    const char *p = ts_bpe_piece(tok, id, &l);
    assert_non_null(p);
    assert_true(l < sizeof buf);
    memcpy(buf, p, l);
    buf[l] = 0;
    return buf;
}

/* ---- word splitting ---------------------------------------------------- */
static void assert_split(const char *text, const char *const *want, int n_want) {
    size_t len = strlen(text), i = 0;
    int k = 0;
    while (i < len) {
        size_t wl = ts_bpe_word_len((const uint8_t *)text + i, len - i);
        assert_true(wl >= 1);
        assert_true(k < n_want);
        if (wl != strlen(want[k]) || memcmp(text + i, want[k], wl))
            fail_msg("word %d of '%s': got '%.*s', want '%s'", k, text, (int)wl, text + i, want[k]);
        i += wl, k++;
    }
    assert_int_equal(k, n_want);
}

static void test_word_split(void **state) {
    const char *a[] = {"Hello", " world", ",", " it", "'", "s",
                       " ",     "2024",   "!", "\n",  " ", " foo"};
    assert_split("Hello world, it's 2024!\n  foo", a, 12);
    const char *b[] = {"café", " naïve", " über", " 中文"};
    assert_split("café naïve über 中文", b, 4);
    /* an em dash and a non-breaking space are symbols, not letters */
    const char *c[] = {"a", "—", "b", " \xc2\xa0", "c"};
    assert_split("a—b \xc2\xa0"
                 "c",
                 c, 5);
    /* invalid UTF-8: each bad byte is a symbol; symbol runs group */
    const char *d[] = {"ab", "\xff\xfe", "cd", "\xc3", "x", "\xed\xa0\x80", "y", "\xe2\x82"};
    assert_split("ab\xff\xfe"
                 "cd\xc3x\xed\xa0\x80y\xe2\x82",
                 d, 8);
    const char *e[] = {"\n", "\n", "\t ", " (", "x", ")", " ", "12", "ab", "34"};
    assert_split("\n\n\t  (x) 12ab34", e, 10);
    assert_int_equal(ts_bpe_word_len((const uint8_t *)"", 0), 0);
}

/* ---- training ------------------------------------------------------------ */
static void test_train_merges_by_hand(void **state) {
    /* Sennrich et al.'s example: low x5, lower x2, newest x6, widest x3. The
     * pair counts give, ties going to the smaller (left, right) ids:
     * es(9) est(9) lo(7) low(7) ew(6) new(6) newest(6) dest(3) idest(3)
     * widest(3) er(2) lower(2). */
    char text[256] = "";
    for (int i = 0; i < 5; i++)
        strcat(text, "low\n");
    for (int i = 0; i < 2; i++)
        strcat(text, "lower\n");
    for (int i = 0; i < 6; i++)
        strcat(text, "newest\n");
    for (int i = 0; i < 3; i++)
        strcat(text, "widest\n");
    ts_bpe *tok = train_str(text, strlen(text), 1000);
    const char *want[] = {"es",     "est",  "lo",    "low",    "ew", "new",
                          "newest", "dest", "idest", "widest", "er", "lower"};
    assert_int_equal(ts_bpe_n_merges(tok), 12);
    assert_int_equal(ts_bpe_n_text(tok), 268);
    for (int r = 0; r < 12; r++)
        assert_string_equal(piece_str(tok, 256 + r), want[r]);
    int32_t a, b;
    ts_bpe_merge(tok, 1, &a, &b);
    assert_int_equal(a, 256);
    assert_int_equal(b, 't');
    ts_bpe_merge(tok, 9, &a, &b);
    assert_int_equal(a, 'w');
    assert_int_equal(b, 264);
    assert_int_equal(ts_bpe_token_id(tok, "newest", 6), 262);
    assert_int_equal(ts_bpe_token_id(tok, "newes", 5), -1);
    /* encoding uses them: "lowest" is low + est, " newest" is ' ' + newest */
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(ts_bpe_encode(tok, "lowest newest", 13, &ids, &n, &cap), TS_OK);
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 259);
    assert_int_equal(ids[1], 257);
    assert_int_equal(ids[2], ' ');
    assert_int_equal(ids[3], 262);
    free(ids);
    ts_bpe_free(tok);

    /* the vocabulary size caps the merges */
    tok = train_str(text, strlen(text), 260);
    assert_int_equal(ts_bpe_n_text(tok), 260);
    assert_string_equal(piece_str(tok, 259), "low");
    ts_bpe_free(tok);
}

static void test_train_bad_args_and_files(void **state) {
    ts_bpe *tok = (ts_bpe *)1;
    const uint8_t *t[1] = {(const uint8_t *)"abc"};
    size_t l[1] = {3};
    assert_int_equal(ts_bpe_train_mem(t, l, 1, 255, NULL, NULL, &tok), TS_ERR_USAGE);
    assert_null(tok);
    const char *paths[] = {"/nonexistent/corpus.txt"};
    assert_int_equal(ts_bpe_train(paths, 1, 300, NULL, NULL, &tok), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "/nonexistent/corpus.txt"));
    /* empty text: only the 256 byte tokens */
    tok = train_str("", 0, 300);
    assert_int_equal(ts_bpe_n_text(tok), 256);
    ts_bpe_free(tok);
}

typedef struct {
    int calls, last_done;
} progress_seen;

static void on_progress(void *ctx, int done, int total, int64_t last_count) {
    progress_seen *p = ctx;
    assert_true(done >= p->last_done && done <= total);
    p->calls++, p->last_done = done;
}

static void test_train_deterministic_with_progress(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 5);
    char *text = random_text(&r, 60000, false);
    const uint8_t *t[1] = {(const uint8_t *)text};
    size_t l[1] = {strlen(text)};
    ts_bpe *a, *b;
    progress_seen ps = {0, 0};
    assert_int_equal(ts_bpe_train_mem(t, l, 1, 1000, on_progress, &ps, &a), TS_OK);
    assert_int_equal(ts_bpe_train_mem(t, l, 1, 1000, NULL, NULL, &b), TS_OK);
    assert_true(ps.calls >= 2);
    assert_int_equal(ps.last_done, ts_bpe_n_merges(a));
    assert_int_equal(ts_bpe_n_text(a), 1000);
    assert_int_equal(ts_bpe_n_merges(a), ts_bpe_n_merges(b));
    for (int i = 0; i < ts_bpe_n_merges(a); i++) {
        int32_t x1, y1, x2, y2;
        ts_bpe_merge(a, i, &x1, &y1);
        ts_bpe_merge(b, i, &x2, &y2);
        assert_int_equal(x1, x2);
        assert_int_equal(y1, y2);
    }
    /* every token's bytes are distinct and stay inside one word */
    for (int i = 256; i < ts_bpe_n_text(a); i++) {
        size_t len;
        const char *p = ts_bpe_piece(a, i, &len);
        assert_int_equal(ts_bpe_token_id(a, p, len), i);
        assert_int_equal(ts_bpe_word_len((const uint8_t *)p, len), len);
    }
    ts_bpe_free(a);
    ts_bpe_free(b);
    free(text);
}

/* ---- encoding ------------------------------------------------------------- */
static void test_encode_matches_naive(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 11);
    char *corpus = random_text(&r, 80000, true);
    ts_bpe *tok = train_str(corpus, strlen(corpus), 700);
    for (int round = 0; round < 6; round++) {
        char *text = random_text(&r, 20000, true);
        size_t len = strlen(text);
        int32_t *want;
        size_t nw;
        naive_encode(tok, (const uint8_t *)text, len, &want, &nw);
        for (int rep = 0; rep < 2; rep++) { /* cold, then warm cache */
            int32_t *ids = NULL;
            size_t n = 0, cap = 0;
            assert_int_equal(ts_bpe_encode(tok, text, len, &ids, &n, &cap), TS_OK);
            assert_int_equal(n, nw);
            assert_memory_equal(ids, want, n * sizeof *ids);
            free(ids);
        }
        assert_true(nw < len / 2); /* the merges do compress */
        free(want);
        free(text);
    }
    /* long runs take the O(n log n) path: same result as the definition */
    size_t len = 5000;
    char *run = malloc(len + 1);
    for (size_t i = 0; i < len; i++)
        run[i] = "thequ"[i % 5 < 3 ? i % 3 : 3 + (i % 2)];
    run[len] = 0;
    int32_t *want, *ids = NULL;
    size_t nw, n = 0, cap = 0;
    naive_encode(tok, (const uint8_t *)run, len, &want, &nw);
    assert_int_equal(ts_bpe_encode(tok, run, len, &ids, &n, &cap), TS_OK);
    assert_int_equal(n, nw);
    assert_memory_equal(ids, want, n * sizeof *ids);
    free(ids);
    free(want);
    free(run);
    free(corpus);
    ts_bpe_free(tok);
}

static void test_roundtrip_any_bytes(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 3);
    char *corpus = random_text(&r, 40000, false);
    ts_bpe *tok = train_str(corpus, strlen(corpus), 600);
    /* empty */
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(ts_bpe_encode(tok, "", 0, &ids, &n, &cap), TS_OK);
    assert_int_equal(n, 0);
    char *back;
    size_t blen = 99;
    assert_int_equal(ts_bpe_decode(tok, ids, 0, &back, &blen), TS_OK);
    assert_int_equal(blen, 0);
    assert_string_equal(back, "");
    free(back);
    free(ids);
    /* random bytes, NULs and invalid UTF-8 included */
    uint8_t buf[4096];
    for (int rep = 0; rep < 20; rep++) {
        size_t len = ts_rng_below(&r, sizeof buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)ts_rng_below(&r, 256);
        assert_roundtrip(tok, buf, len);
    }
    /* random text of the corpus' kind */
    char *text = random_text(&r, 30000, true);
    assert_roundtrip(tok, (const uint8_t *)text, strlen(text));
    free(text);
    /* invalid UTF-8 and truncated sequences, every byte value alone */
    const char *bad =
        "\xc3\x28 \xa0\xa1 \xe2\x28\xa1 \xf0\x90\x28\xbc \xf8\xa1\xa1\xa1\xa1 \xc0\xaf\xed\xa0\x80";
    assert_roundtrip(tok, (const uint8_t *)bad, strlen(bad));
    for (int b = 0; b < 256; b++) {
        uint8_t one = (uint8_t)b;
        assert_roundtrip(tok, &one, 1);
    }
    /* long runs: one letter, spaces, newlines, digits, symbols */
    size_t len = 200000;
    uint8_t *run = malloc(len);
    const uint8_t fill[] = {'a', ' ', '\n', '7', '!'};
    for (size_t f = 0; f < sizeof fill; f++) {
        memset(run, fill[f], len);
        assert_roundtrip(tok, run, len);
    }
    for (size_t i = 0; i < len; i++)
        run[i] = "th"[i % 2];
    assert_roundtrip(tok, run, len);
    free(run);
    free(corpus);
    ts_bpe_free(tok);
}

static void test_pieces_and_specials(void **state) {
    ts_bpe *tok = train_str("aa aa aa", 8, 300);
    int nt = ts_bpe_n_text(tok);
    assert_string_equal(piece_str(tok, nt + TS_TOK_BOS), "<bos>");
    assert_string_equal(piece_str(tok, nt + TS_TOK_ASSISTANT), "<assistant>");
    assert_null(ts_bpe_piece(tok, nt + TS_N_SPECIALS, NULL));
    assert_null(ts_bpe_piece(tok, -1, NULL));
    assert_string_equal(ts_special_name(TS_TOK_IMG_END), "</img>");
    assert_null(ts_special_name(TS_N_SPECIALS));
    size_t l;
    assert_string_equal(ts_bpe_piece(tok, 0, &l), "");
    assert_int_equal(l, 1); /* the NUL byte is a token of one byte */
    int32_t ids[] = {'a', nt + TS_TOK_EOS, 'b'};
    char *out;
    assert_int_equal(ts_bpe_decode(tok, ids, 3, &out, &l), TS_OK);
    assert_string_equal(out, "a<eos>b");
    free(out);
    ids[1] = nt + TS_N_SPECIALS;
    assert_int_equal(ts_bpe_decode(tok, ids, 3, &out, &l), TS_ERR_INPUT);
    assert_null(out);
    /* "<bos>" typed in text is bytes, never the special */
    int32_t *enc = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(ts_bpe_encode(tok, "<bos>", 5, &enc, &n, &cap), TS_OK);
    for (size_t i = 0; i < n; i++)
        assert_true(enc[i] < nt);
    free(enc);
    ts_bpe_free(tok);
}

/* ---- GGUF ------------------------------------------------------------------ */
static void test_save_load_roundtrip(void **state) {
    ts_rng r;
    ts_rng_seed(&r, 9);
    char *corpus = random_text(&r, 40000, false);
    ts_bpe *tok = train_str(corpus, strlen(corpus), 520);
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "tok.gguf");
    ts_gguf_writer *w = ts_gguf_writer_new();
    assert_int_equal(ts_bpe_save(tok, 16, w), TS_OK);
    assert_int_equal(ts_gguf_write(w, path), TS_OK);
    ts_gguf_writer_free(w);

    ts_gguf *g;
    assert_int_equal(ts_gguf_open(path, &g), TS_OK);
    const char *model;
    assert_int_equal(ts_gguf_get_str(g, "tokenizer.ggml.model", &model), TS_OK);
    assert_string_equal(model, "gpt2");
    /* GPT-2 spelling: byte 0x20 is U+0120 'Ġ', 'A' is itself, 0x00 is U+0100 */
    const char *s;
    size_t len;
    assert_int_equal(ts_gguf_get_arr_str(g, "tokenizer.ggml.tokens", ' ', &s, &len), TS_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(s, "\xc4\xa0", 2);
    assert_int_equal(ts_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 'A', &s, &len), TS_OK);
    assert_memory_equal(s, "A", 1);
    assert_int_equal(ts_gguf_get_arr_str(g, "tokenizer.ggml.tokens", 0, &s, &len), TS_OK);
    assert_memory_equal(s, "\xc4\x80", 2);
    int nt = ts_bpe_n_text(tok);
    assert_int_equal(ts_gguf_get_arr_str(g, "tokenizer.ggml.tokens", (size_t)nt + 1, &s, &len),
                     TS_OK);
    assert_memory_equal(s, "<eos>", 5);
    assert_int_equal(ts_gguf_get_arr_str(g, "tokenizer.ggml.tokens", (size_t)nt + 9 + 15, &s, &len),
                     TS_OK);
    assert_memory_equal(s, "<code_15>", 9);
    ts_gguf_type et;
    const void *data;
    size_t n;
    assert_int_equal(ts_gguf_get_arr(g, "tokenizer.ggml.tokens", &et, &data, &n), TS_OK);
    assert_int_equal(n, (size_t)nt + 9 + 16);
    assert_int_equal(ts_gguf_get_arr(g, "tokenizer.ggml.token_type", &et, &data, &n), TS_OK);
    assert_int_equal(et, TS_GGUF_I32);
    assert_int_equal(((const int32_t *)data)[5], 1);
    assert_int_equal(((const int32_t *)data)[nt], 3);
    uint32_t bos;
    assert_int_equal(ts_gguf_get_u32(g, "tokenizer.ggml.bos_token_id", &bos), TS_OK);
    assert_int_equal(bos, nt);
    /* the first merge, spelled "left right" */
    int32_t a, b;
    ts_bpe_merge(tok, 0, &a, &b);
    assert_int_equal(ts_gguf_get_arr_str(g, "tokenizer.ggml.merges", 0, &s, &len), TS_OK);
    assert_non_null(memchr(s, ' ', len));

    ts_bpe *back;
    assert_int_equal(ts_bpe_load(g, &back), TS_OK);
    assert_int_equal(ts_bpe_n_text(back), nt);
    for (int i = 0; i < ts_bpe_n_merges(tok); i++) {
        int32_t x1, y1, x2, y2;
        ts_bpe_merge(tok, i, &x1, &y1);
        ts_bpe_merge(back, i, &x2, &y2);
        assert_int_equal(x1, x2);
        assert_int_equal(y1, y2);
    }
    char *text = random_text(&r, 10000, true);
    int32_t *i1 = NULL, *i2 = NULL;
    size_t n1 = 0, c1 = 0, n2 = 0, c2 = 0;
    assert_int_equal(ts_bpe_encode(tok, text, strlen(text), &i1, &n1, &c1), TS_OK);
    assert_int_equal(ts_bpe_encode(back, text, strlen(text), &i2, &n2, &c2), TS_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(i1, i2, n1 * sizeof *i1);
    free(i1);
    free(i2);
    free(text);
    ts_bpe_free(back);
    ts_gguf_close(g);
    ts_bpe_free(tok);
    free(corpus);
    tu_rmdir(dir);
}

/* Writes a tokenizer file by hand: 256 byte tokens, `merges`, specials. */
static ts_status load_handmade(const char *dir, const char *const *extra, const char *const *merges,
                               int n_merges, const char *model) {
    const char *path = tu_path(dir, "hand.gguf");
    ts_bpe *tok = train_str("", 0, 256); /* only for the byte spellings */
    ts_gguf_writer *w = ts_gguf_writer_new();
    assert_int_equal(ts_bpe_save(tok, 0, w), TS_OK);
    ts_gguf *g0;
    assert_int_equal(ts_gguf_write(w, path), TS_OK);
    assert_int_equal(ts_gguf_open(path, &g0), TS_OK);
    const char *toks[256 + 8 + TS_N_SPECIALS];
    size_t nt = 0;
    for (int i = 0; i < 256; i++) {
        const char *s;
        size_t len;
        assert_int_equal(ts_gguf_get_arr_str(g0, "tokenizer.ggml.tokens", (size_t)i, &s, &len),
                         TS_OK);
        toks[nt++] = s;
    }
    for (int i = 0; i < n_merges; i++)
        toks[nt++] = extra[i];
    for (int i = 0; i < TS_N_SPECIALS; i++)
        toks[nt++] = ts_special_name(i);
    ts_gguf_set_str(w, "tokenizer.ggml.model", model);
    ts_gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, nt);
    ts_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, (size_t)n_merges);
    ts_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)(256 + n_merges));
    ts_gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)(256 + n_merges + 1));
    const char *path2 = tu_path(dir, "hand2.gguf");
    assert_int_equal(ts_gguf_write(w, path2), TS_OK);
    ts_gguf_close(g0);
    ts_gguf_writer_free(w);
    ts_bpe_free(tok);
    ts_gguf *g;
    assert_int_equal(ts_gguf_open(path2, &g), TS_OK);
    ts_bpe *t = NULL;
    ts_status s = ts_bpe_load(g, &t);
    if (s == TS_OK) {
        assert_int_equal(ts_bpe_n_text(t), 256 + n_merges);
        ts_bpe_free(t);
    } else {
        assert_null(t);
    }
    ts_gguf_close(g);
    return s;
}

static void test_load_rejects_bad_tokenizers(void **state) {
    char *dir = tu_mkdtemp();
    const char *ok_tok[] = {"ab", "abĠ"}, *ok_m[] = {"a b", "ab Ġ"};
    assert_int_equal(load_handmade(dir, ok_tok, ok_m, 2, "gpt2"), TS_OK);
    assert_int_equal(load_handmade(dir, ok_tok, ok_m, 2, "llama"), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "gpt2"));
    const char *m1[] = {"a b", "ab"}; /* no space */
    assert_int_equal(load_handmade(dir, ok_tok, m1, 2, "gpt2"), TS_ERR_INPUT);
    const char *m2[] = {"a b", "abĠ c"}; /* a token not made yet */
    assert_int_equal(load_handmade(dir, ok_tok, m2, 2, "gpt2"), TS_ERR_INPUT);
    const char *m3[] = {"a c", "ab Ġ"}; /* merge does not make its token */
    assert_int_equal(load_handmade(dir, ok_tok, m3, 2, "gpt2"), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "merge 0"));
    const char *t4[] = {"ab", "a b"}; /* raw space: not GPT-2 spelling */
    assert_int_equal(load_handmade(dir, t4, ok_m, 2, "gpt2"), TS_ERR_INPUT);
    const char *t5[] = {"ab", "ab"}, *m5[] = {"a b", "a b"}; /* the same token twice */
    assert_int_equal(load_handmade(dir, t5, m5, 2, "gpt2"), TS_ERR_INPUT);
    /* a file without a tokenizer */
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_u32(w, "x", 1);
    const char *path = tu_path(dir, "empty.gguf");
    assert_int_equal(ts_gguf_write(w, path), TS_OK);
    ts_gguf_writer_free(w);
    ts_gguf *g;
    assert_int_equal(ts_gguf_open(path, &g), TS_OK);
    ts_bpe *t;
    assert_int_equal(ts_bpe_load(g, &t), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "tokenizer"));
    ts_gguf_close(g);
    tu_rmdir(dir);
}

/* ---- the CLI ---------------------------------------------------------------- */
static void test_cli_train_and_tokenize(void **state) {
    char *dir = tu_mkdtemp();
    char text[512] = "";
    for (int i = 0; i < 6; i++)
        strcat(text, "the cat sat on the mat. the hat\n");
    tu_write_file(tu_path(dir, "a.txt"), text, strlen(text));
    tu_write_file(tu_path(dir, "b.txt"), "mat mat mat\n", 12);
    const char *tok = tu_path(dir, "tok.gguf");
    tu_run_result r = tu_run("train-bpe --vocab 270 -o %s %s %s", tok, tu_path(dir, "a.txt"),
                             tu_path(dir, "b.txt"));
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "");
    assert_non_null(strstr(r.err, "merges"));
    tu_run_free(&r);

    r = tu_run("tokenize-text -m %s ' the mat'", tok);
    assert_int_equal(r.code, 0);
    assert_int_equal(tu_count_lines(r.out), 2); /* " the", " mat" */
    assert_non_null(strstr(r.out, "' the'"));
    assert_non_null(strstr(r.out, "' mat'"));
    tu_run_free(&r);

    r = tu_run("tokenize-text -m %s --json \"$(printf 'a\\377\\n')\"", tok);
    assert_int_equal(r.code, 0);
    assert_int_equal(tu_count_lines(r.out), 1);
    assert_non_null(strstr(r.out, "\"ids\":[97,255]"));
    assert_non_null(strstr(r.out, "\"a\""));
    assert_non_null(strstr(r.out, "\"\\\\xff\""));
    tu_run_free(&r);

    /* a file's bytes, exactly: "the\n" is "the" then "\n" */
    tu_write_file(tu_path(dir, "c.txt"), "the\n", 4);
    r = tu_run("tokenize-text -m %s -f %s", tok, tu_path(dir, "c.txt"));
    assert_int_equal(r.code, 0);
    assert_string_equal(r.out, "258\t'the'\n10\t'\\n'\n");
    tu_run_free(&r);
    r = tu_run("tokenize-text -m %s -f %s extra", tok, tu_path(dir, "c.txt"));
    assert_int_equal(r.code, 1);
    tu_run_free(&r);

    r = tu_run("tokenize-text -m %s \"$(printf 'x\\001y')\"", tok);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "'\\x01'"));
    tu_run_free(&r);

    /* errors: a missing corpus (2, named), bad options (1), no tokenizer (2) */
    r = tu_run("train-bpe --vocab 300 -o %s %s", tu_path(dir, "x.gguf"),
               tu_path(dir, "missing.txt"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "missing.txt"));
    tu_run_free(&r);
    r = tu_run("train-bpe --vocab 12 -o %s %s", tu_path(dir, "x.gguf"), tu_path(dir, "a.txt"));
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("train-bpe %s", tu_path(dir, "a.txt"));
    assert_int_equal(r.code, 1);
    tu_run_free(&r);
    r = tu_run("tokenize-text -m %s hello", tu_path(dir, "a.txt"));
    assert_int_equal(r.code, 2);
    assert_non_null(strstr(r.err, "a.txt"));
    tu_run_free(&r);
    r = tu_run("tokenize-text --help");
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "usage"));
    tu_run_free(&r);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_word_split),
        cmocka_unit_test(test_train_merges_by_hand),
        cmocka_unit_test(test_train_bad_args_and_files),
        cmocka_unit_test(test_train_deterministic_with_progress),
        cmocka_unit_test(test_encode_matches_naive),
        cmocka_unit_test(test_roundtrip_any_bytes),
        cmocka_unit_test(test_pieces_and_specials),
        cmocka_unit_test(test_save_load_roundtrip),
        cmocka_unit_test(test_load_rejects_bad_tokenizers),
        cmocka_unit_test(test_cli_train_and_tokenize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
