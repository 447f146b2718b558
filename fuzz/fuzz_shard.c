/* libFuzzer target for the pre-tokenized shard reader (fusion/shard.c):
 * a shard that opens must hand out only records inside the buffer, with
 * every token in [0, n_vocab) and every mask byte 0 or 1. */
#include "tessera.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *buf = malloc(size ? size : 1); /* malloc'd: 4-byte aligned */
    if (!buf) return 0;
    memcpy(buf, data, size);
    ts_shard *s;
    if (ts_shard_open_mem(buf, size, "fuzz.shard", &s) == TS_OK) {
        int64_t total = 0;
        for (int64_t i = 0; i < ts_shard_count(s); i++) {
            const int32_t *t;
            const uint8_t *m;
            int n;
            ts_shard_get(s, i, &t, &m, &n);
            if (n < 1 || (const uint8_t *)t < buf || m + n > buf + size) abort();
            for (int k = 0; k < n; k++)
                if (t[k] < 0 || t[k] >= ts_shard_vocab(s) || m[k] > 1) abort();
            total += n;
        }
        if (total != ts_shard_total_tokens(s)) abort();
        ts_shard_close(s);
    }
    free(buf);
    return 0;
}
