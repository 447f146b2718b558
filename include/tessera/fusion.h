/* Fusion (fusion/): the one vocabulary, the one template that turns
 * (media..., prompt, answer) into model input, the multiple-choice prompt,
 * and pre-tokenized shards.
 *
 *     ts_vocab v;
 *     ts_vocab_init(&v, ts_bpe_n_text(tok), 1024);           // 1024 VQ codes
 *     ts_media m = {TS_MEDIA_IMAGE, codes, 64};              // codes in [0, 1024)
 *     ts_seq s = {0};
 *     ts_fusion_build(tok, &v, &m, 1, "What is shown?", "a cat", &s);
 *     // s.tokens: <bos> <img> code_base+c x64 </img> <user> What is shown?
 *     //           <assistant> a cat <eos>
 *     // s.pos:    0 .. s.n-1;  s.mask: 1 on "a cat" and <eos> only
 *     ts_seq_free(&s);
 *
 * Training, `caption`, `ask`, `chat` and `eval` all build their input with
 * ts_fusion_build: there is no second template. */
#ifndef TESSERA_FUSION_H
#define TESSERA_FUSION_H

#include "tessera/core.h"
#include "tessera/gguf.h"
#include "tessera/text.h"

/* ---- the vocabulary --------------------------------------------------- */
/* [0, n_text) BPE tokens, [special_base, special_base + TS_N_SPECIALS) the
 * specials (ts_special order), [code_base, code_base + n_codes) the media
 * codes shared by images and audio. */
typedef struct {
    int32_t n_text;
    int32_t special_base; /* = n_text */
    int32_t code_base;    /* = n_text + TS_N_SPECIALS */
    int32_t n_codes;      /* K, the VQ codebook size */
    int32_t n_vocab;      /* = code_base + n_codes */
} ts_vocab;

void ts_vocab_init(ts_vocab *v, int32_t n_text, int32_t n_codes);
static inline int32_t ts_vocab_special(const ts_vocab *v, ts_special s) {
    return v->special_base + (int32_t)s;
}
/* Writes tessera.vocab.{size,text_count,special_base,code_base,code_count}. */
void ts_vocab_write(const ts_vocab *v, ts_gguf_writer *w);
/* Reads and checks them (every offset consistent with the others). */
ts_status ts_vocab_read(const ts_gguf *g, ts_vocab *v);

/* ---- the template ----------------------------------------------------- */
typedef enum { TS_MEDIA_IMAGE = 0, TS_MEDIA_AUDIO = 1 } ts_media_kind;

/* One image (64 codes, raster order) or audio clip (25 codes per second),
 * its codes as codebook indices in [0, n_codes). n_views > 1: codes holds
 * that many test-time views of the medium, n_codes each, one after another
 * (fusion/views.h); the template reads view 0. */
typedef struct {
    ts_media_kind kind;
    const int32_t *codes;
    int n_codes;
    int n_views; /* 0 or 1: one */
} ts_media;
/* The views media[0..n) carry: the most of any, at least 1. */
int ts_media_views(const ts_media *media, int n);
/* out[i] = media[i] as seen in view v, one view each (a medium with fewer
 * views shows view v mod its count). */
void ts_media_view(const ts_media *media, int n, int v, ts_media *out);

/* A model input: tokens[i] at position pos[i]; mask[i] = 1 where the loss
 * (or the answer's log-likelihood) counts. Growable; reuse it across calls. */
typedef struct {
    int32_t *tokens; /* (n,) vocabulary ids */
    int32_t *pos;    /* (n,) 0 .. n-1 */
    uint8_t *mask;   /* (n,) 0/1 */
    int n, cap;
    int answer_start; /* index of the first token after <assistant> (= n without an answer) */
} ts_seq;

/* Builds
 *   <bos> (<img> c... </img> | <aud> c... </aud>)* <user> PROMPT <assistant> ANSWER <eos>
 * with media in the order given (c = code_base + code). With answer == NULL
 * the sequence stops after <assistant> (a generation prompt) and the mask is
 * all zero; otherwise the mask covers the ANSWER tokens and <eos> only (an
 * empty answer still gets <eos>). Overwrites *out. A code out of range, or a
 * kind that is neither image nor audio, fails with TS_ERR_INPUT. */
ts_status ts_fusion_build(ts_bpe *tok, const ts_vocab *v, const ts_media *media, int n_media,
                          const char *prompt, const char *answer, ts_seq *out);
/* The same template with n_turns questions about the same media, for
 * training records that encode the media once:
 *   <bos> media <user> P1 <assistant> A1 <eos> <user> P2 <assistant> A2 <eos> ...
 * Each turn sees the media and itself only (ts_fusion_layout), at the
 * positions a one-turn prompt would give it, so it is trained on exactly
 * what `caption`, `ask` and `eval` build with ts_fusion_build. Every answer
 * must be given; answer_start is the last turn's. */
ts_status ts_fusion_build_turns(ts_bpe *tok, const ts_vocab *v, const ts_media *media, int n_media,
                                const char *const *prompts, const char *const *answers, int n_turns,
                                ts_seq *out);
/* The layout of n tokens of records packed one after another (a training
 * row): hide[2i], hide[2i + 1] is the span of keys token i does not see (the
 * earlier turns of its record; empty for a first turn) and pos[i] its
 * position, counted as if that span were not there. */
void ts_fusion_layout(const ts_vocab *v, const int32_t *tokens, int n, int32_t *pos, int32_t *hide);
void ts_seq_free(ts_seq *s);

/* The multiple-choice PROMPT:
 *   QUESTION
 *   Context: HINT            (only when hint is non-empty)
 *   (A) OPTION0
 *   (B) OPTION1 ...
 * lines joined by '\n', no trailing newline; ANSWER is then the text of the
 * right option. 1..TS_MC_MAX_OPTIONS options. *out is malloc'd. */
#define TS_MC_MAX_OPTIONS 26 /* letters A..Z */
ts_status ts_mc_prompt(const char *question, const char *hint, const char *const *options,
                       int n_options, char **out);

/* ---- pre-tokenized shards --------------------------------------------- */
/* A file of token sequences (layout in fusion/shard.c), written atomically
 * and read through mmap with every record validated at open. */
typedef struct ts_shard_writer ts_shard_writer;
/* n_vocab: every token written must be in [0, n_vocab). */
ts_status ts_shard_writer_open(const char *path, int32_t n_vocab, ts_shard_writer **out);
/* One record: n >= 1 tokens and their mask (0/1; NULL = all ones). */
ts_status ts_shard_write(ts_shard_writer *w, const int32_t *tokens, const uint8_t *mask, int n);
/* Finishes the header and renames the file into place; frees w. */
ts_status ts_shard_writer_commit(ts_shard_writer *w);
/* Drops the temporary file; frees w. */
void ts_shard_writer_abort(ts_shard_writer *w);

typedef struct ts_shard ts_shard;
ts_status ts_shard_open(const char *path, ts_shard **out);
/* The same over a 4-byte aligned buffer that must outlive the shard (used by
 * the fuzzer). */
ts_status ts_shard_open_mem(const uint8_t *buf, size_t len, const char *name, ts_shard **out);
void ts_shard_close(ts_shard *s);
int64_t ts_shard_count(const ts_shard *s); /* records */
int64_t ts_shard_total_tokens(const ts_shard *s);
int32_t ts_shard_vocab(const ts_shard *s); /* n_vocab it was written for */
/* Record i (0 <= i < count): pointers into the mapping, valid until close. */
void ts_shard_get(const ts_shard *s, int64_t i, const int32_t **tokens, const uint8_t **mask,
                  int *n);

#endif
