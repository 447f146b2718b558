/* The one template (DESIGN.md "Fusion"):
 *   <bos> (<img> c... </img> | <aud> c... </aud>)* <user> PROMPT <assistant> ANSWER <eos>
 * Training, caption, ask, chat and eval inputs all come from here. Training
 * records may hold several turns about the same media, each laid out
 * (ts_fusion_layout) to see exactly what a one-turn prompt sees. */
#include "tessera/fusion.h"

#include <stdlib.h>
#include <string.h>

void ts_seq_free(ts_seq *s) {
    free(s->tokens);
    free(s->pos);
    free(s->mask);
    memset(s, 0, sizeof *s);
}

static ts_status seq_reserve(ts_seq *s, size_t need) {
    if (need > INT32_MAX / 2) return ts_fail(TS_ERR_INPUT, "fusion: %zu tokens is too long", need);
    if ((int)need <= s->cap) return TS_OK;
    int cap = s->cap ? s->cap : 256;
    while ((size_t)cap < need)
        cap *= 2;
    int32_t *t = realloc(s->tokens, (size_t)cap * sizeof *t);
    if (t) s->tokens = t;
    int32_t *p = realloc(s->pos, (size_t)cap * sizeof *p);
    if (p) s->pos = p;
    uint8_t *m = realloc(s->mask, (size_t)cap);
    if (m) s->mask = m;
    if (!t || !p || !m) return ts_fail(TS_ERR_NOMEM, "fusion: out of memory for %d tokens", cap);
    s->cap = cap;
    return TS_OK;
}

static void put(ts_seq *s, int32_t tok, uint8_t mask) {
    s->tokens[s->n] = tok;
    s->mask[s->n] = mask;
    s->n++;
}

/* Appends the BPE ids of text, with their mask value. */
static ts_status put_text(ts_seq *s, ts_bpe *tok, const char *text, uint8_t mask) {
    size_t len = strlen(text);
    /* a byte never makes more than one token */
    ts_status st = seq_reserve(s, (size_t)s->n + len + 1);
    if (st) return st;
    int32_t *ids = s->tokens;
    size_t n = (size_t)s->n, cap = (size_t)s->cap;
    st = ts_bpe_encode(tok, text, len, &ids, &n, &cap);
    s->tokens = ids;
    if (st) return st;
    if (cap != (size_t)s->cap) /* reserved above: encode must not have grown it */
        return ts_fail(TS_ERR_INTERNAL, "fusion: token buffer grew during encoding");
    memset(s->mask + s->n, mask, n - (size_t)s->n);
    s->n = (int)n;
    return TS_OK;
}

/* Where the turns of the record being read start: its first <user> and the
 * current turn's (-1: none yet). */
typedef struct {
    int first, turn;
} turn_state;

/* Reads token tok at index i of packed records; returns the length of the
 * earlier turns of its record that token i does not see (0 in a first turn)
 * and, when span is not NULL, that span of keys [span[0], span[1]). */
static int hidden_span(const ts_vocab *v, int32_t tok, int i, turn_state *ts, int32_t *span) {
    if (tok == ts_vocab_special(v, TS_TOK_BOS))
        ts->first = ts->turn = -1;
    else if (tok == ts_vocab_special(v, TS_TOK_USER))
        ts->first = ts->first < 0 ? i : ts->first, ts->turn = i;
    bool later = ts->turn > ts->first; /* a second or later turn */
    if (span) span[0] = later ? ts->first : 0, span[1] = later ? ts->turn : 0;
    return later ? ts->turn - ts->first : 0;
}

static ts_status build(ts_bpe *tok, const ts_vocab *v, const ts_media *media, int n_media,
                       const char *const *prompts, const char *const *answers, int n_turns,
                       ts_seq *out) {
    out->n = 0;
    out->answer_start = 0;
    if (ts_bpe_n_text(tok) != v->n_text)
        return ts_fail(TS_ERR_INPUT, "fusion: tokenizer has %d tokens, vocabulary expects %d",
                       ts_bpe_n_text(tok), (int)v->n_text);
    size_t need = 4;
    for (int m = 0; m < n_media; m++) {
        const ts_media *md = &media[m];
        if (md->kind != TS_MEDIA_IMAGE && md->kind != TS_MEDIA_AUDIO)
            return ts_fail(TS_ERR_INPUT, "fusion: media %d is neither image nor audio", m);
        if (md->n_codes < 0 || (md->n_codes && !md->codes))
            return ts_fail(TS_ERR_INPUT, "fusion: media %d has no codes", m);
        for (int i = 0; i < md->n_codes; i++)
            if (md->codes[i] < 0 || md->codes[i] >= v->n_codes)
                return ts_fail(TS_ERR_INPUT, "fusion: media %d code %d is %d, not in [0, %d)", m, i,
                               (int)md->codes[i], (int)v->n_codes);
        need += 2 + (size_t)md->n_codes;
    }
    ts_status s = seq_reserve(out, need);
    if (s) return s;
    put(out, ts_vocab_special(v, TS_TOK_BOS), 0);
    for (int m = 0; m < n_media; m++) {
        const ts_media *md = &media[m];
        bool img = md->kind == TS_MEDIA_IMAGE;
        put(out, ts_vocab_special(v, img ? TS_TOK_IMG : TS_TOK_AUD), 0);
        for (int i = 0; i < md->n_codes; i++)
            put(out, v->code_base + md->codes[i], 0);
        put(out, ts_vocab_special(v, img ? TS_TOK_IMG_END : TS_TOK_AUD_END), 0);
    }
    for (int k = 0; k < n_turns; k++) {
        if ((s = seq_reserve(out, (size_t)out->n + 1))) return s;
        put(out, ts_vocab_special(v, TS_TOK_USER), 0);
        if (prompts[k] && (s = put_text(out, tok, prompts[k], 0))) return s;
        if ((s = seq_reserve(out, (size_t)out->n + 1))) return s;
        put(out, ts_vocab_special(v, TS_TOK_ASSISTANT), 0);
        out->answer_start = out->n;
        if (answers[k]) {
            if ((s = put_text(out, tok, answers[k], 1))) return s;
            if ((s = seq_reserve(out, (size_t)out->n + 1))) return s;
            put(out, ts_vocab_special(v, TS_TOK_EOS), 1);
        }
    }
    /* the positions ts_fusion_layout gives: later turns as if alone */
    turn_state ts = {-1, -1};
    for (int i = 0; i < out->n; i++)
        out->pos[i] = i - hidden_span(v, out->tokens[i], i, &ts, NULL);
    return TS_OK;
}

ts_status ts_fusion_build(ts_bpe *tok, const ts_vocab *v, const ts_media *media, int n_media,
                          const char *prompt, const char *answer, ts_seq *out) {
    return build(tok, v, media, n_media, &prompt, &answer, 1, out);
}

ts_status ts_fusion_build_turns(ts_bpe *tok, const ts_vocab *v, const ts_media *media, int n_media,
                                const char *const *prompts, const char *const *answers, int n_turns,
                                ts_seq *out) {
    if (n_turns < 1) return ts_fail(TS_ERR_USAGE, "fusion: %d turns", n_turns);
    for (int k = 0; k < n_turns; k++)
        if (!answers[k]) return ts_fail(TS_ERR_USAGE, "fusion: turn %d has no answer", k + 1);
    return build(tok, v, media, n_media, prompts, answers, n_turns, out);
}

void ts_fusion_layout(const ts_vocab *v, const int32_t *tokens, int n, int32_t *pos,
                      int32_t *hide) {
    turn_state ts = {-1, -1};
    for (int i = 0; i < n; i++)
        pos[i] = i - hidden_span(v, tokens[i], i, &ts, hide + 2 * i);
}
