/* Writes the seed corpus of fuzz_gguf: a few small, valid GGUF files that
 * between them use every value type, every tensor type, string arrays, a
 * custom alignment and llama.cpp-style names. Run by
 * `make -f fuzz/Makefile gguf-seeds`; the output is committed. */
#include "tessera.h"

#include <stdio.h>
#include <stdlib.h>

static const char *dir;

static void save(ts_gguf_writer *w, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (ts_gguf_write(w, path) != TS_OK) {
        fprintf(stderr, "%s\n", ts_last_error());
        exit(2);
    }
    ts_gguf_writer_free(w);
}

static void add(ts_gguf_writer *w, const char *name, ts_dtype t, int64_t d0, int64_t d1,
                float scale) {
    float x[256];
    int64_t dims[2] = {d0, d1};
    for (int i = 0; i < d0 * d1 && i < 256; i++) x[i] = scale * (float)((i * 37) % 19 - 9);
    if (ts_gguf_add_tensor(w, name, t, dims, d1 > 1 ? 2 : 1, x) != TS_OK) {
        fprintf(stderr, "%s\n", ts_last_error());
        exit(2);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gguf_seeds DIR\n");
        return 1;
    }
    dir = argv[1];

    save(ts_gguf_writer_new(), "empty.gguf");

    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_u8(w, "u8", 7);
    ts_gguf_set_i8(w, "i8", -7);
    ts_gguf_set_u16(w, "u16", 700);
    ts_gguf_set_i16(w, "i16", -700);
    ts_gguf_set_u32(w, "u32", 70000);
    ts_gguf_set_i32(w, "i32", -70000);
    ts_gguf_set_u64(w, "u64", 7000000000ull);
    ts_gguf_set_i64(w, "i64", -7000000000ll);
    ts_gguf_set_f32(w, "f32", 0.5f);
    ts_gguf_set_f64(w, "f64", -0.25);
    ts_gguf_set_bool(w, "bool", true);
    ts_gguf_set_str(w, "str", "seven");
    ts_gguf_set_str(w, "empty", "");
    const int16_t i16[3] = {1, -2, 3};
    const double f64[2] = {1.5, -2.5};
    const uint8_t b[2] = {0, 1};
    ts_gguf_set_arr(w, "a.i16", TS_GGUF_I16, i16, 3);
    ts_gguf_set_arr(w, "a.f64", TS_GGUF_F64, f64, 2);
    ts_gguf_set_arr(w, "a.bool", TS_GGUF_BOOL, b, 2);
    ts_gguf_set_arr(w, "a.none", TS_GGUF_U32, NULL, 0);
    save(w, "values.gguf");

    w = ts_gguf_writer_new();
    const char *tokens[] = {"a", "b", "ab", " the", "<bos>", ""};
    const char *merges[] = {"a b", "Ġ t", "Ġt he"};
    const int32_t types[6] = {1, 1, 1, 1, 3, 1};
    ts_gguf_set_str(w, "tokenizer.ggml.model", "gpt2");
    ts_gguf_set_arr_str(w, "tokenizer.ggml.tokens", tokens, 6);
    ts_gguf_set_arr_str(w, "tokenizer.ggml.merges", merges, 3);
    ts_gguf_set_arr(w, "tokenizer.ggml.token_type", TS_GGUF_I32, types, 6);
    ts_gguf_set_u32(w, "tokenizer.ggml.bos_token_id", 4);
    save(w, "tokenizer.gguf");

    w = ts_gguf_writer_new();
    add(w, "f32", TS_DTYPE_F32, 5, 1, 0.5f);
    add(w, "f16", TS_DTYPE_F16, 3, 3, 1000.0f);
    add(w, "bf16", TS_DTYPE_BF16, 7, 1, 1e-3f);
    add(w, "q8_0", TS_DTYPE_Q8_0, 32, 2, 0.1f);
    save(w, "dtypes.gguf");

    w = ts_gguf_writer_new();
    ts_gguf_set_u32(w, "general.alignment", 64);
    ts_gguf_set_str(w, "general.architecture", "tessera");
    ts_gguf_set_u32(w, "tessera.block_count", 1);
    ts_gguf_set_u32(w, "tessera.embedding_length", 8);
    add(w, "token_embd.weight", TS_DTYPE_F16, 8, 4, 0.01f);
    add(w, "blk.0.attn_q.weight", TS_DTYPE_BF16, 8, 8, 0.02f);
    add(w, "blk.0.ffn_up_exps.weight", TS_DTYPE_Q8_0, 32, 3, 0.03f);
    add(w, "output_norm.weight", TS_DTYPE_F32, 8, 1, 1.0f);
    save(w, "model.gguf");
    return 0;
}
