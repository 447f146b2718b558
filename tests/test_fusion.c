/* fusion/: the vocabulary layout, the one template (tokens, positions, loss
 * mask exact on a hand example), the multiple-choice prompt, shards. */
#include "tessera.h"
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tokenizer with no merges: text tokens are the bytes, easy to spell out. */
static ts_bpe *byte_tokenizer(void) {
    const uint8_t *t[1] = {(const uint8_t *)""};
    size_t l[1] = {0};
    ts_bpe *tok;
    assert_int_equal(ts_bpe_train_mem(t, l, 1, 256, NULL, NULL, &tok), TS_OK);
    return tok;
}

static void test_vocab_layout_and_gguf(void **state) {
    ts_vocab v;
    ts_vocab_init(&v, 4096, 1024);
    assert_int_equal(v.special_base, 4096);
    assert_int_equal(v.code_base, 4105);
    assert_int_equal(v.n_vocab, 5129);
    assert_int_equal(ts_vocab_special(&v, TS_TOK_BOS), 4096);
    assert_int_equal(ts_vocab_special(&v, TS_TOK_ASSISTANT), 4104);

    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "v.gguf");
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_vocab_write(&v, w);
    assert_int_equal(ts_gguf_write(w, path), TS_OK);
    ts_gguf *g;
    assert_int_equal(ts_gguf_open(path, &g), TS_OK);
    ts_vocab r;
    assert_int_equal(ts_vocab_read(g, &r), TS_OK);
    assert_memory_equal(&r, &v, sizeof v);
    ts_gguf_close(g);

    /* inconsistent offsets are refused */
    ts_gguf_set_u32(w, "tessera.vocab.code_base", 4100);
    assert_int_equal(ts_gguf_write(w, path), TS_OK);
    assert_int_equal(ts_gguf_open(path, &g), TS_OK);
    assert_int_equal(ts_vocab_read(g, &r), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "tessera.vocab"));
    ts_gguf_close(g);
    ts_gguf_writer_free(w);

    /* and a missing key is named */
    w = ts_gguf_writer_new();
    ts_gguf_set_u32(w, "tessera.vocab.size", 5129);
    assert_int_equal(ts_gguf_write(w, path), TS_OK);
    ts_gguf_writer_free(w);
    assert_int_equal(ts_gguf_open(path, &g), TS_OK);
    assert_int_equal(ts_vocab_read(g, &r), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "tessera.vocab.text_count"));
    ts_gguf_close(g);
    tu_rmdir(dir);
}

static void test_template_hand_example(void **state) {
    ts_bpe *tok = byte_tokenizer();
    ts_vocab v;
    ts_vocab_init(&v, 256, 16); /* specials 256..264, codes from 265 */
    const int32_t img[3] = {5, 0, 7}, aud[1] = {15};
    ts_media media[2] = {{TS_MEDIA_IMAGE, img, 3, 1}, {TS_MEDIA_AUDIO, aud, 1, 1}};
    ts_seq s = {0};
    assert_int_equal(ts_fusion_build(tok, &v, media, 2, "Hi", "ok", &s), TS_OK);
    const int32_t want[] = {256,                     /* <bos> */
                            259, 270, 265, 272, 260, /* <img> 5 0 7 </img> */
                            261, 280, 262,           /* <aud> 15 </aud> */
                            263, 'H', 'i',           /* <user> Hi */
                            264, 'o', 'k', 257};     /* <assistant> ok <eos> */
    const uint8_t want_mask[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1};
    assert_int_equal(s.n, 16);
    assert_memory_equal(s.tokens, want, sizeof want);
    assert_memory_equal(s.mask, want_mask, sizeof want_mask);
    for (int i = 0; i < s.n; i++)
        assert_int_equal(s.pos[i], i);
    assert_int_equal(s.answer_start, 13);

    /* reused: no answer -> a generation prompt ending in <assistant> */
    assert_int_equal(ts_fusion_build(tok, &v, media + 1, 1, "Hi", NULL, &s), TS_OK);
    const int32_t want2[] = {256, 261, 280, 262, 263, 'H', 'i', 264};
    assert_int_equal(s.n, 8);
    assert_memory_equal(s.tokens, want2, sizeof want2);
    for (int i = 0; i < s.n; i++)
        assert_int_equal(s.mask[i], 0);
    assert_int_equal(s.answer_start, 8);

    /* no media, empty answer: the mask is <eos> alone */
    assert_int_equal(ts_fusion_build(tok, &v, NULL, 0, "", "", &s), TS_OK);
    const int32_t want3[] = {256, 263, 264, 257};
    assert_int_equal(s.n, 4);
    assert_memory_equal(s.tokens, want3, sizeof want3);
    assert_int_equal(s.mask[3], 1);
    assert_int_equal(s.mask[2], 0);

    /* bad input */
    const int32_t bad[1] = {16};
    ts_media m = {TS_MEDIA_IMAGE, bad, 1, 1};
    assert_int_equal(ts_fusion_build(tok, &v, &m, 1, "x", "y", &s), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "16"));
    m = (ts_media){(ts_media_kind)7, img, 3, 1};
    assert_int_equal(ts_fusion_build(tok, &v, &m, 1, "x", "y", &s), TS_ERR_INPUT);
    ts_vocab other;
    ts_vocab_init(&other, 300, 16);
    assert_int_equal(ts_fusion_build(tok, &other, NULL, 0, "x", "y", &s), TS_ERR_INPUT);
    ts_seq_free(&s);
    ts_bpe_free(tok);
}

/* Two turns about one image, then the layout of a row holding that record
 * and a one-turn record after it. */
static void test_template_turns_and_layout(void **state) {
    ts_bpe *tok = byte_tokenizer();
    ts_vocab v;
    ts_vocab_init(&v, 256, 16);
    const int32_t img[2] = {1, 2};
    ts_media m = {TS_MEDIA_IMAGE, img, 2, 1};
    const char *prompts[2] = {"A", "Bc"}, *answers[2] = {"x", "yz"};
    ts_seq s = {0};
    assert_int_equal(ts_fusion_build_turns(tok, &v, &m, 1, prompts, answers, 2, &s), TS_OK);
    const int32_t want[] = {256, 259, 266, 267, 260, /* <bos> <img> 1 2 </img> */
                            263, 'A', 264, 'x', 257, /* <user> A <assistant> x <eos> */
                            263, 'B', 'c', 264, 'y', 'z', 257};
    const uint8_t want_mask[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 1};
    /* the second turn sits where a one-turn prompt would put it */
    const int32_t want_pos[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 6, 7, 8, 9, 10, 11};
    assert_int_equal(s.n, 17);
    assert_memory_equal(s.tokens, want, sizeof want);
    assert_memory_equal(s.mask, want_mask, sizeof want_mask);
    assert_memory_equal(s.pos, want_pos, sizeof want_pos);
    assert_int_equal(s.answer_start, 14);
    /* one turn is ts_fusion_build exactly */
    ts_seq one = {0};
    assert_int_equal(ts_fusion_build_turns(tok, &v, &m, 1, prompts + 1, answers + 1, 1, &s), TS_OK);
    assert_int_equal(ts_fusion_build(tok, &v, &m, 1, "Bc", "yz", &one), TS_OK);
    assert_int_equal(s.n, one.n);
    assert_memory_equal(s.tokens, one.tokens, sizeof *s.tokens * (size_t)s.n);
    assert_memory_equal(s.pos, one.pos, sizeof *s.pos * (size_t)s.n);

    /* a row: the two-turn record, a one-turn record, <pad> */
    int32_t row[17 + 4 + 2], pos[23], hide[46];
    memcpy(row, want, sizeof want);
    const int32_t text[4] = {256, 263, 264, 257}, pad = ts_vocab_special(&v, TS_TOK_PAD);
    memcpy(row + 17, text, sizeof text);
    row[21] = row[22] = pad;
    ts_fusion_layout(&v, row, 23, pos, hide);
    for (int i = 0; i < 23; i++) {
        bool second = i >= 10 && i < 17; /* hides the first turn, [5, 10) */
        assert_int_equal(hide[2 * i], second ? 5 : 0);
        assert_int_equal(hide[2 * i + 1], second ? 10 : 0);
        assert_int_equal(pos[i], i < 17 ? want_pos[i] : i);
    }
    /* a turn without an answer, or no turn at all, is refused */
    answers[1] = NULL;
    assert_int_equal(ts_fusion_build_turns(tok, &v, &m, 1, prompts, answers, 2, &s), TS_ERR_USAGE);
    assert_int_equal(ts_fusion_build_turns(tok, &v, &m, 1, prompts, answers, 0, &s), TS_ERR_USAGE);
    ts_seq_free(&s);
    ts_seq_free(&one);
    ts_bpe_free(tok);
}

static void test_template_with_merges_and_long_media(void **state) {
    /* a trained tokenizer: prompt and answer are its encodings, exactly */
    const char *corpus = "the cat the cat the cat the hat";
    const uint8_t *t[1] = {(const uint8_t *)corpus};
    size_t l[1] = {strlen(corpus)};
    ts_bpe *tok;
    assert_int_equal(ts_bpe_train_mem(t, l, 1, 300, NULL, NULL, &tok), TS_OK);
    ts_vocab v;
    ts_vocab_init(&v, ts_bpe_n_text(tok), 1024);
    int32_t codes[64];
    for (int i = 0; i < 64; i++)
        codes[i] = (i * 37) % 1024;
    ts_media m[3] = {{TS_MEDIA_IMAGE, codes, 64, 1},
                     {TS_MEDIA_AUDIO, codes, 25, 1},
                     {TS_MEDIA_IMAGE, codes, 64, 1}};
    ts_seq s = {0};
    assert_int_equal(ts_fusion_build(tok, &v, m, 3, "the cat", " the hat", &s), TS_OK);
    int32_t *p = NULL, *a = NULL;
    size_t np = 0, cp = 0, na = 0, ca = 0;
    assert_int_equal(ts_bpe_encode(tok, "the cat", 7, &p, &np, &cp), TS_OK);
    assert_int_equal(ts_bpe_encode(tok, " the hat", 8, &a, &na, &ca), TS_OK);
    int media_len = 66 + 27 + 66;
    assert_int_equal(s.n, 1 + media_len + 1 + (int)np + 1 + (int)na + 1);
    assert_int_equal(s.tokens[1], v.special_base + TS_TOK_IMG);
    assert_int_equal(s.tokens[2 + 63], v.code_base + codes[63]);
    assert_int_equal(s.tokens[66], v.special_base + TS_TOK_IMG_END);
    assert_int_equal(s.tokens[67], v.special_base + TS_TOK_AUD);
    assert_int_equal(s.tokens[68 + 24], v.code_base + codes[24]);
    assert_int_equal(s.tokens[93], v.special_base + TS_TOK_AUD_END);
    assert_int_equal(s.tokens[94], v.special_base + TS_TOK_IMG);
    assert_int_equal(s.tokens[1 + media_len], v.special_base + TS_TOK_USER);
    assert_memory_equal(s.tokens + 2 + media_len, p, np * sizeof *p);
    assert_int_equal(s.answer_start, 3 + media_len + (int)np);
    assert_memory_equal(s.tokens + s.answer_start, a, na * sizeof *a);
    int masked = 0;
    for (int i = 0; i < s.n; i++) {
        masked += s.mask[i];
        assert_int_equal(s.mask[i], i >= s.answer_start);
        assert_true(s.tokens[i] >= 0 && s.tokens[i] < v.n_vocab);
    }
    assert_int_equal(masked, (int)na + 1);
    assert_int_equal(s.tokens[s.n - 1], v.special_base + TS_TOK_EOS);
    free(p);
    free(a);
    ts_seq_free(&s);
    ts_bpe_free(tok);
}

static void test_mc_prompt_exact(void **state) {
    const char *opts[] = {"a rock", "a plant", "an animal"};
    char *s;
    assert_int_equal(ts_mc_prompt("Which is alive?", "Look at the picture.", opts, 3, &s), TS_OK);
    assert_string_equal(s, "Which is alive?\nContext: Look at the picture.\n"
                           "(A) a rock\n(B) a plant\n(C) an animal");
    free(s);
    assert_int_equal(ts_mc_prompt("Pick one.", "", opts, 2, &s), TS_OK);
    assert_string_equal(s, "Pick one.\n(A) a rock\n(B) a plant");
    free(s);
    assert_int_equal(ts_mc_prompt("Pick one.", NULL, opts + 2, 1, &s), TS_OK);
    assert_string_equal(s, "Pick one.\n(A) an animal");
    free(s);
    const char *many[27];
    for (int i = 0; i < 27; i++)
        many[i] = "x";
    assert_int_equal(ts_mc_prompt("q", NULL, many, 26, &s), TS_OK);
    assert_non_null(strstr(s, "\n(Z) x"));
    free(s);
    assert_int_equal(ts_mc_prompt("q", NULL, many, 27, &s), TS_ERR_INPUT);
    assert_null(s);
    assert_int_equal(ts_mc_prompt("q", NULL, many, 0, &s), TS_ERR_INPUT);
}

/* ---- shards ----------------------------------------------------------------- */
static void write_sample_shard(const char *path) {
    ts_shard_writer *w;
    assert_int_equal(ts_shard_writer_open(path, 100, &w), TS_OK);
    const int32_t a[3] = {1, 2, 99}, b[1] = {0}, c[6] = {5, 6, 7, 8, 9, 10};
    const uint8_t ma[3] = {0, 1, 1}, mc[6] = {0, 0, 0, 0, 1, 0};
    assert_int_equal(ts_shard_write(w, a, ma, 3), TS_OK);
    assert_int_equal(ts_shard_write(w, b, NULL, 1), TS_OK);
    assert_int_equal(ts_shard_write(w, c, mc, 6), TS_OK);
    /* refused, and the writer carries on */
    const int32_t bad[2] = {1, 100};
    assert_int_equal(ts_shard_write(w, bad, NULL, 2), TS_ERR_USAGE);
    assert_int_equal(ts_shard_write(w, a, ma, 0), TS_ERR_USAGE);
    const uint8_t badm[3] = {0, 2, 0};
    assert_int_equal(ts_shard_write(w, a, badm, 3), TS_ERR_USAGE);
    assert_int_equal(ts_shard_writer_commit(w), TS_OK);
}

static void test_shard_roundtrip(void **state) {
    assert_int_equal(*(const uint8_t *)&(const uint32_t){1}, 1); /* little-endian host */
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "a.shard");
    write_sample_shard(path);
    size_t len;
    char *raw = tu_read_file(path, &len);
    /* header 32 + (4+12+3 -> 20) + (4+4+1 -> 12) + (4+24+6 -> 36) */
    assert_int_equal(len, 32 + 20 + 12 + 36);
    assert_memory_equal(raw, "TSSHARD\0", 8);
    free(raw);
    ts_shard *s;
    assert_int_equal(ts_shard_open(path, &s), TS_OK);
    assert_int_equal(ts_shard_count(s), 3);
    assert_int_equal(ts_shard_total_tokens(s), 10);
    assert_int_equal(ts_shard_vocab(s), 100);
    const int32_t *t;
    const uint8_t *m;
    int n;
    ts_shard_get(s, 0, &t, &m, &n);
    assert_int_equal(n, 3);
    assert_int_equal(t[2], 99);
    assert_int_equal(m[0], 0);
    assert_int_equal(m[1], 1);
    ts_shard_get(s, 1, &t, &m, &n);
    assert_int_equal(n, 1);
    assert_int_equal(t[0], 0);
    assert_int_equal(m[0], 1); /* NULL mask = all ones */
    ts_shard_get(s, 2, &t, &m, &n);
    assert_int_equal(n, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(t[i], 5 + i);
    assert_int_equal(m[4], 1);
    assert_int_equal(m[5], 0);
    ts_shard_close(s);

    /* the same from memory (aligned), refused when misaligned */
    raw = tu_read_file(path, &len);
    uint32_t *aligned = malloc(len + 4);
    memcpy(aligned, raw, len);
    assert_int_equal(ts_shard_open_mem((const uint8_t *)aligned, len, "mem", &s), TS_OK);
    assert_int_equal(ts_shard_count(s), 3);
    ts_shard_get(s, 2, &t, &m, &n);
    assert_int_equal(n, 6);
    assert_int_equal(t[5], 10);
    ts_shard_close(s);
    memmove((uint8_t *)aligned + 1, aligned, len);
    assert_int_equal(ts_shard_open_mem((const uint8_t *)aligned + 1, len, "mem", &s), TS_ERR_USAGE);
    free(aligned);
    free(raw);

    /* an empty shard is valid; an aborted one leaves nothing behind */
    ts_shard_writer *w;
    const char *e = tu_path(dir, "empty.shard");
    assert_int_equal(ts_shard_writer_open(e, 10, &w), TS_OK);
    assert_int_equal(ts_shard_writer_commit(w), TS_OK);
    assert_int_equal(ts_shard_open(e, &s), TS_OK);
    assert_int_equal(ts_shard_count(s), 0);
    ts_shard_close(s);
    const char *ab = tu_path(dir, "aborted.shard");
    assert_int_equal(ts_shard_writer_open(ab, 10, &w), TS_OK);
    ts_shard_writer_abort(w);
    assert_int_equal(ts_shard_open(ab, &s), TS_ERR_INPUT);
    tu_rmdir(dir);
}

/* Writes raw with one change and expects the shard to be refused. */
static void expect_corrupt(const char *dir, const char *raw, size_t len, size_t at, int byte,
                           const char *why) {
    char *copy = malloc(len + 1);
    memcpy(copy, raw, len);
    size_t l = len;
    if (byte >= 0)
        copy[at] = (char)byte;
    else
        l = at; /* truncate at `at` */
    const char *path = tu_path(dir, "bad.shard");
    tu_write_file(path, copy, l);
    ts_shard *s = (ts_shard *)1;
    assert_int_equal(ts_shard_open(path, &s), TS_ERR_INPUT);
    assert_null(s);
    if (!strstr(ts_last_error(), why)) fail_msg("'%s' does not say '%s'", ts_last_error(), why);
    assert_non_null(strstr(ts_last_error(), "bad.shard"));
    free(copy);
}

static void test_shard_corrupt_rejected(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "a.shard");
    write_sample_shard(path);
    size_t len;
    char *raw = tu_read_file(path, &len);
    expect_corrupt(dir, raw, len, 0, 'X', "header");
    expect_corrupt(dir, raw, len, 8, 2, "version");
    expect_corrupt(dir, raw, len, 12, 0, "vocabulary"); /* n_vocab 0 */
    expect_corrupt(dir, raw, len, 16, 4, "record");     /* 4 records claimed */
    expect_corrupt(dir, raw, len, 17, 0x7f, "record count");
    expect_corrupt(dir, raw, len, 16, 2, "after the last record");
    expect_corrupt(dir, raw, len, 24, 11, "token count");
    expect_corrupt(dir, raw, len, 32, 0, "record length"); /* n = 0 */
    expect_corrupt(dir, raw, len, 32, 100, "truncated");   /* n too big */
    expect_corrupt(dir, raw, len, 36, 100, "vocabulary");  /* token 100 */
    expect_corrupt(dir, raw, len, 39, 0x80, "vocabulary"); /* negative token */
    expect_corrupt(dir, raw, len, 48, 2, "mask");          /* mask byte 2 */
    expect_corrupt(dir, raw, len, 51, 1, "padding");
    expect_corrupt(dir, raw, len, len - 1, -1, "truncated"); /* cut short */
    expect_corrupt(dir, raw, len, 20, -1, "header");
    /* a byte past the end */
    char *longer = malloc(len + 4);
    memcpy(longer, raw, len);
    memset(longer + len, 0, 4);
    tu_write_file(path, longer, len + 4);
    ts_shard *s;
    assert_int_equal(ts_shard_open(path, &s), TS_ERR_INPUT);
    free(longer);
    assert_int_equal(ts_shard_open(tu_path(dir, "missing.shard"), &s), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "missing.shard"));
    free(raw);
    tu_rmdir(dir);
}

/* The whole way: template output into a shard and back. */
static void test_template_into_shard(void **state) {
    ts_bpe *tok = byte_tokenizer();
    ts_vocab v;
    ts_vocab_init(&v, 256, 32);
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "t.shard");
    ts_shard_writer *w;
    assert_int_equal(ts_shard_writer_open(path, v.n_vocab, &w), TS_OK);
    ts_seq s = {0};
    int32_t codes[64];
    for (int i = 0; i < 64; i++)
        codes[i] = i % 32;
    ts_media m = {TS_MEDIA_IMAGE, codes, 64, 1};
    int lens[5];
    for (int k = 0; k < 5; k++) {
        char answer[32];
        snprintf(answer, sizeof answer, "answer %d", k);
        assert_int_equal(ts_fusion_build(tok, &v, &m, 1, "What is it?", answer, &s), TS_OK);
        lens[k] = s.n;
        assert_int_equal(ts_shard_write(w, s.tokens, s.mask, s.n), TS_OK);
    }
    assert_int_equal(ts_shard_writer_commit(w), TS_OK);
    ts_shard *sh;
    assert_int_equal(ts_shard_open(path, &sh), TS_OK);
    assert_int_equal(ts_shard_count(sh), 5);
    const int32_t *t;
    const uint8_t *mk;
    int n;
    ts_shard_get(sh, 4, &t, &mk, &n);
    assert_int_equal(n, lens[4]);
    assert_memory_equal(t, s.tokens, (size_t)n * sizeof *t);
    assert_memory_equal(mk, s.mask, (size_t)n);
    ts_shard_close(sh);
    ts_seq_free(&s);
    ts_bpe_free(tok);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_layout_and_gguf),
        cmocka_unit_test(test_template_hand_example),
        cmocka_unit_test(test_template_turns_and_layout),
        cmocka_unit_test(test_template_with_merges_and_long_media),
        cmocka_unit_test(test_mc_prompt_exact),
        cmocka_unit_test(test_shard_roundtrip),
        cmocka_unit_test(test_shard_corrupt_rejected),
        cmocka_unit_test(test_template_into_shard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
