/* The one vocabulary: BPE tokens, then the specials, then the media codes.
 * Its offsets travel in the model file under tessera.vocab.*. */
#include "tessera/fusion.h"

void ts_vocab_init(ts_vocab *v, int32_t n_text, int32_t n_codes) {
    v->n_text = n_text;
    v->special_base = n_text;
    v->code_base = n_text + TS_N_SPECIALS;
    v->n_codes = n_codes;
    v->n_vocab = v->code_base + n_codes;
}

void ts_vocab_write(const ts_vocab *v, ts_gguf_writer *w) {
    ts_gguf_set_u32(w, "tessera.vocab.size", (uint32_t)v->n_vocab);
    ts_gguf_set_u32(w, "tessera.vocab.text_count", (uint32_t)v->n_text);
    ts_gguf_set_u32(w, "tessera.vocab.special_base", (uint32_t)v->special_base);
    ts_gguf_set_u32(w, "tessera.vocab.code_base", (uint32_t)v->code_base);
    ts_gguf_set_u32(w, "tessera.vocab.code_count", (uint32_t)v->n_codes);
}

ts_status ts_vocab_read(const ts_gguf *g, ts_vocab *v) {
    uint32_t size, text, special, code, count;
    ts_status s;
    if ((s = ts_gguf_get_u32(g, "tessera.vocab.size", &size)) ||
        (s = ts_gguf_get_u32(g, "tessera.vocab.text_count", &text)) ||
        (s = ts_gguf_get_u32(g, "tessera.vocab.special_base", &special)) ||
        (s = ts_gguf_get_u32(g, "tessera.vocab.code_base", &code)) ||
        (s = ts_gguf_get_u32(g, "tessera.vocab.code_count", &count)))
        return s;
    if (text < 256 || text > (1u << 24) || count > (1u << 24) || special != text ||
        code != text + TS_N_SPECIALS || size != code + count)
        return ts_fail(TS_ERR_INPUT,
                       "tessera.vocab: inconsistent layout (size %u, text %u, specials at %u, "
                       "codes %u at %u)",
                       size, text, special, count, code);
    ts_vocab_init(v, (int32_t)text, (int32_t)count);
    return TS_OK;
}
