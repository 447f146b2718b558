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
    const int32_t user = ts_vocab_special(v, TS_TOK_USER);
    for (int i = 0, first = -1, turn = -1; i < out->n; i++) {
        if (out->tokens[i] == user) first = first < 0 ? i : first, turn = i;
        out->pos[i] = i - (turn > first ? turn - first : 0);
    }
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
    const int32_t bos = ts_vocab_special(v, TS_TOK_BOS), user = ts_vocab_special(v, TS_TOK_USER);
    int first = -1, turn = -1; /* the record's first <user>, and this turn's */
    for (int i = 0; i < n; i++) {
        if (tokens[i] == bos)
            first = turn = -1;
        else if (tokens[i] == user)
            first = first < 0 ? i : first, turn = i;
        bool later = turn > first; /* a second or later turn */
        hide[2 * i] = later ? first : 0;
        hide[2 * i + 1] = later ? turn : 0;
        pos[i] = i - (later ? turn - first : 0);
    }
}
