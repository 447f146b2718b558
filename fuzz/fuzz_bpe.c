/* libFuzzer target for text/: the input is encoded with a small fixed
 * tokenizer and must decode to itself byte for byte (word splitting, the
 * word cache and the long-word path on any bytes); then the input is read as
 * a GGUF file and, if it holds a tokenizer that loads, that tokenizer must
 * round-trip the input too. */
#include "tessera.h"

#include <stdlib.h>
#include <string.h>

static ts_bpe *fixed;

static void roundtrip(ts_bpe *tok, const uint8_t *data, size_t size) {
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    if (ts_bpe_encode(tok, data, size, &ids, &n, &cap) != TS_OK) abort();
    char *back;
    size_t len;
    if (ts_bpe_decode(tok, ids, n, &back, &len) != TS_OK) abort();
    if (len != size || (size && memcmp(back, data, size))) abort();
    free(back);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!fixed) {
        static const char corpus[] =
            "the quick brown fox jumps over the lazy dog; the dog sleeps.\n"
            "Théâtre naïve café 中文 — “quotes” 12345 67890 aaaa aaaa aaaa\n";
        const uint8_t *t[1] = {(const uint8_t *)corpus};
        size_t l[1] = {sizeof corpus - 1};
        if (ts_bpe_train_mem(t, l, 1, 320, NULL, NULL, &fixed) != TS_OK) abort();
    }
    roundtrip(fixed, data, size);
    ts_gguf *g;
    if (ts_gguf_open_mem(data, size, "fuzz.gguf", &g) == TS_OK) {
        ts_bpe *tok;
        if (ts_bpe_load(g, &tok) == TS_OK) {
            roundtrip(tok, data, size < 4096 ? size : 4096);
            ts_bpe_free(tok);
        }
        ts_gguf_close(g);
    }
    return 0;
}
