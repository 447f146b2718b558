/* libFuzzer target for the benchmark readers (eval/bench.c): the input is
 * written to a file and read as a benchmark (ScienceQA or JSONL, found from
 * the content). It must load, or fail with TS_ERR_INPUT/TS_ERR_USAGE and a
 * message; every item it returns is either usable (2+ choices, the answer
 * in range) or carries an error. */
#include "tessera.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];

static void remove_file(void) { unlink(path); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/tessera-fuzz-bench-%ld.jsonl", (long)getpid());
        atexit(remove_file);
    }
    FILE *fp = fopen(path, "wb");
    if (!fp) return 0;
    fwrite(data, 1, size, fp);
    fclose(fp);
    ts_bench *b;
    ts_bench_options o = {.split = "test"};
    ts_status s = ts_bench_load(path, &o, &b);
    if (s) {
        if (s != TS_ERR_INPUT && s != TS_ERR_USAGE) abort();
        return 0;
    }
    for (int i = 0; i < b->n_items; i++) {
        const ts_eval_item *it = &b->items[i];
        if (!it->id) abort();
        if (it->error) continue;
        if (it->n_choices < 2 || it->answer < 0 || it->answer >= it->n_choices || !it->question ||
            !it->hint)
            abort();
        for (int k = 0; k < it->n_choices; k++)
            if (!it->choices[k]) abort();
    }
    ts_bench_free(b);
    return 0;
}
