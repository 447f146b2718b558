/* Byte-level BPE (text/): training, encoding, decoding.
 *
 *     ts_bpe *tok;
 *     const char *files[] = {"corpus.txt"};
 *     if (ts_bpe_train(files, 1, 4096, NULL, NULL, &tok)) die(ts_last_error());
 *     int32_t *ids = NULL; size_t n = 0, cap = 0;
 *     ts_bpe_encode(tok, "Hello world", 11, &ids, &n, &cap);   // appends to ids
 *     char *back; size_t len;
 *     ts_bpe_decode(tok, ids, n, &back, &len);                  // "Hello world"
 *
 * Ids [0, 256) are the raw bytes, so any byte string round-trips exactly,
 * UTF-8 or not; id 256 + r is the token made by merge r (rank r). Text is
 * first split into words and merges never cross a word boundary. A word is
 *   - a run of letters with at most one space before it (" hello"),
 *   - a run of digits ("2024"),
 *   - a run of other symbols with at most one space before it (" (",  "."),
 *   - one newline,
 *   - a run of spaces/tabs/CRs (the last space goes to the next word when that
 *     word is letters or symbols).
 * Letters are ASCII letters and every valid multibyte UTF-8 character except
 * the spaces, punctuation and symbols of U+0080..U+00BF, U+00D7, U+00F7,
 * U+2000..U+2BFF (dashes, quotes, arrows, maths), U+3000..U+303F,
 * U+FE30..U+FE4F, U+FF01..U+FF0F and U+1F000..U+1FAFF (emoji): those are
 * symbols. A byte that is not part of valid UTF-8 is a symbol of its own.
 *
 * After the n_text = 256 + n_merges BPE tokens come the TS_N_SPECIALS
 * specials of the shared vocabulary (DESIGN.md "One vocabulary"); then, in a
 * model file, the media codes. The tokenizer never produces a special from
 * text: "<bos>" typed in a prompt is encoded as ordinary text.
 *
 * Stored in GGUF with llama.cpp's "gpt2" keys: tokenizer.ggml.model,
 * .tokens (GPT-2 byte-to-unicode spelling), .merges ("left right"),
 * .token_type, .bos_token_id, .eos_token_id. */
#ifndef TESSERA_TEXT_H
#define TESSERA_TEXT_H

#include "tessera/core.h"
#include "tessera/gguf.h"

/* The specials, in vocabulary order after the BPE tokens: the id of special
 * s is n_text + s. */
typedef enum {
    TS_TOK_BOS = 0,
    TS_TOK_EOS,
    TS_TOK_PAD,
    TS_TOK_IMG,
    TS_TOK_IMG_END,
    TS_TOK_AUD,
    TS_TOK_AUD_END,
    TS_TOK_USER,
    TS_TOK_ASSISTANT,
    TS_N_SPECIALS
} ts_special;
/* "<bos>", "<eos>", "<pad>", "<img>", "</img>", "<aud>", "</aud>", "<user>",
 * "<assistant>"; NULL when s is out of range. */
const char *ts_special_name(int s);

typedef struct ts_bpe ts_bpe;

/* Called during training after each batch of merges (and once at the end):
 * merges done so far, merges wanted, and the count of the last merged pair. */
typedef void (*ts_bpe_progress_fn)(void *ctx, int done, int total, int64_t last_count);

/* Learns merges until the vocabulary has vocab_size BPE tokens (256 + merges;
 * 256 <= vocab_size <= 1 << 20) or no pair occurs twice. The most frequent
 * pair is merged first, ties going to the smaller (left, right) ids; a pair
 * whose bytes already spell a token is skipped, so every token's bytes are
 * unique. The result depends on the text only. Files are read whole; an
 * unreadable file fails with its name. */
ts_status ts_bpe_train(const char *const *paths, int n_paths, int vocab_size,
                       ts_bpe_progress_fn progress, void *ctx, ts_bpe **out);
/* The same over texts in memory (texts[i] of lens[i] bytes). */
ts_status ts_bpe_train_mem(const uint8_t *const *texts, const size_t *lens, int n_texts,
                           int vocab_size, ts_bpe_progress_fn progress, void *ctx, ts_bpe **out);
void ts_bpe_free(ts_bpe *t);

/* BPE tokens (256 + merges): the id of the first special. */
int ts_bpe_n_text(const ts_bpe *t);
int ts_bpe_n_merges(const ts_bpe *t);
/* Merge r joins tokens *left and *right into token 256 + r. */
void ts_bpe_merge(const ts_bpe *t, int r, int32_t *left, int32_t *right);

/* Writes the tokenizer's keys. The token list holds the n_text BPE tokens,
 * the specials, then n_codes media-code tokens "<code_N>" (0 for a
 * tokenizer-only file), so that it covers a model's whole vocabulary. */
ts_status ts_bpe_save(const ts_bpe *t, int n_codes, ts_gguf_writer *w);
/* Reads the keys written by ts_bpe_save (or a llama.cpp "gpt2" vocabulary
 * whose merges produce their tokens); every string and id is validated. */
ts_status ts_bpe_load(const ts_gguf *g, ts_bpe **out);

/* Appends the ids of `len` bytes of text to the growable array
 * (*ids, *n, *cap); *ids may start NULL. Not thread-safe on the same
 * tokenizer (it keeps a word cache): use one tokenizer per thread. The
 * result does not depend on the cache. */
ts_status ts_bpe_encode(ts_bpe *t, const void *text, size_t len, int32_t **ids, size_t *n,
                        size_t *cap);
/* The bytes of ids, malloc'd and NUL-terminated (*len excludes the NUL).
 * Specials decode to their names; an id >= n_text + TS_N_SPECIALS fails. */
ts_status ts_bpe_decode(const ts_bpe *t, const int32_t *ids, size_t n, char **out, size_t *len);
/* The bytes of one token (NUL-terminated; *len may be NULL), the name of a
 * special, or NULL when id is out of range. */
const char *ts_bpe_piece(const ts_bpe *t, int32_t id, size_t *len);
/* The id of the token spelled by exactly these bytes, or -1. */
int32_t ts_bpe_token_id(const ts_bpe *t, const void *bytes, size_t len);

/* Word splitting as described above: returns the length of the word that
 * starts at text[0] (>= 1 when len >= 1). */
size_t ts_bpe_word_len(const uint8_t *text, size_t len);

#endif
