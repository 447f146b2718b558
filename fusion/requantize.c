/* Smaller model files: the decoder's matrices re-stored as q8_0 (or f16,
 * bf16), every key copied by type. The VQ-VAE stays f32: its codes must not
 * move. */
#include <stdlib.h>
#include <string.h>

#include "tessera/pipeline.h"

static ts_status copy_key(const ts_gguf *g, int64_t i, ts_gguf_writer *w) {
    const char *k = ts_gguf_key_name(g, i);
    ts_gguf_type t = ts_gguf_key_type(g, i);
    int64_t iv;
    uint64_t uv;
    float fv;
    double dv;
    bool bv;
    const char *sv;
    ts_status s = TS_OK;
    switch (t) {
    case TS_GGUF_U8: case TS_GGUF_U16: case TS_GGUF_U32: case TS_GGUF_U64:
        if (!(s = ts_gguf_get_u64(g, k, &uv))) {
            if (t == TS_GGUF_U8) ts_gguf_set_u8(w, k, (uint8_t)uv);
            else if (t == TS_GGUF_U16) ts_gguf_set_u16(w, k, (uint16_t)uv);
            else if (t == TS_GGUF_U32) ts_gguf_set_u32(w, k, (uint32_t)uv);
            else ts_gguf_set_u64(w, k, uv);
        }
        return s;
    case TS_GGUF_I8: case TS_GGUF_I16: case TS_GGUF_I32: case TS_GGUF_I64:
        if (!(s = ts_gguf_get_i64(g, k, &iv))) {
            if (t == TS_GGUF_I8) ts_gguf_set_i8(w, k, (int8_t)iv);
            else if (t == TS_GGUF_I16) ts_gguf_set_i16(w, k, (int16_t)iv);
            else if (t == TS_GGUF_I32) ts_gguf_set_i32(w, k, (int32_t)iv);
            else ts_gguf_set_i64(w, k, iv);
        }
        return s;
    case TS_GGUF_F32:
        if (!(s = ts_gguf_get_f32(g, k, &fv))) ts_gguf_set_f32(w, k, fv);
        return s;
    case TS_GGUF_F64:
        if (!(s = ts_gguf_get_f64(g, k, &dv))) ts_gguf_set_f64(w, k, dv);
        return s;
    case TS_GGUF_BOOL:
        if (!(s = ts_gguf_get_bool(g, k, &bv))) ts_gguf_set_bool(w, k, bv);
        return s;
    case TS_GGUF_STRING:
        if (!(s = ts_gguf_get_str(g, k, &sv))) ts_gguf_set_str(w, k, sv);
        return s;
    case TS_GGUF_ARRAY: {
        ts_gguf_type et;
        const void *data;
        size_t n;
        if ((s = ts_gguf_get_arr(g, k, &et, &data, &n))) return s;
        if (et == TS_GGUF_STRING) {
            const char **v = malloc(sizeof *v * (n ? n : 1));
            if (!v) return ts_fail(TS_ERR_NOMEM, "out of memory");
            for (size_t j = 0; !s && j < n; j++)
                s = ts_gguf_get_arr_str(g, k, j, &v[j], NULL);
            if (!s) ts_gguf_set_arr_str(w, k, v, n);
            free(v);
            return s;
        }
        if (et == TS_GGUF_ARRAY) return ts_fail(TS_ERR_INPUT, "%s: nested arrays are not copied", k);
        ts_gguf_set_arr(w, k, et, data, n);
        return TS_OK;
    }
    default:
        return ts_fail(TS_ERR_INPUT, "%s: key of unknown type %d", k, (int)t);
    }
}

ts_status ts_gguf_requantize(const char *in, const char *out, ts_dtype dtype) {
    ts_gguf *g;
    ts_status s = ts_gguf_open(in, &g);
    if (s) return s;
    ts_gguf_writer *w = ts_gguf_writer_new();
    if (!w) s = ts_fail(TS_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; !s && i < ts_gguf_n_keys(g); i++)
        if (strcmp(ts_gguf_key_name(g, i), "general.alignment")) s = copy_key(g, i, w);
    for (int64_t i = 0; !s && i < ts_gguf_n_tensors(g); i++) {
        const ts_gguf_tensor *t = ts_gguf_tensor_at(g, i);
        float *x = ts_alloc_floats((size_t)t->n_elements);
        if (!x) {
            s = ts_fail(TS_ERR_NOMEM, "%s: out of memory for %s", in, t->name);
            break;
        }
        bool quant = t->n_dims >= 2 && t->dims[0] % 32 == 0 && strncmp(t->name, "vq.", 3);
        s = ts_gguf_tensor_to_f32(t, x, t->n_elements);
        if (!s) s = ts_gguf_add_tensor(w, t->name, quant ? dtype : t->dtype, t->dims, t->n_dims, x);
        free(x);
    }
    if (!s) s = ts_gguf_write(w, out);
    ts_gguf_writer_free(w);
    ts_gguf_close(g);
    return s;
}
