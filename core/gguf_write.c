/* Writing GGUF v3 files.
 *
 * The writer keeps each key's value already serialised (the bytes that follow
 * the value-type field in the file) and each tensor already encoded in its
 * dtype, so ts_gguf_write is one sequential pass:
 *
 *   "GGUF" u32 version=3  u64 n_tensors  u64 n_kv
 *   n_kv × (string key, u32 type, value)
 *   n_tensors × (string name, u32 n_dims, u64 dims[n_dims], u32 dtype, u64 offset)
 *   padding to the alignment
 *   tensor data, each tensor at an aligned offset and padded to the alignment
 *
 * Strings are u64 length + bytes (no NUL). The setters return nothing: the
 * first failure (out of memory, a bad argument) is kept and reported by
 * ts_gguf_write, so a model exporter reads as a flat list of calls. */
#include "core/gguf_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    char *key;
    uint32_t type;
    uint8_t *val; /* serialised value */
    size_t len;
} wkv;

typedef struct {
    char *name;
    ts_dtype dtype;
    int n_dims;
    int64_t dims[TS_GGUF_MAX_DIMS];
    uint8_t *data;
    size_t n_bytes;
} wtensor;

struct ts_gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
    ts_status err; /* the first setter failure */
    char err_msg[256];
};

/* ---- a growable byte buffer for one value ---------------------------------- */
typedef struct {
    uint8_t *p;
    size_t len, cap;
    bool oom;
} buf;

static void buf_put(buf *b, const void *src, size_t n) {
    if (b->oom) return;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->oom = true;
                return;
            }
            cap *= 2;
        }
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void buf_u32(buf *b, uint32_t v) { buf_put(b, &v, 4); }
static void buf_u64(buf *b, uint64_t v) { buf_put(b, &v, 8); }
static void buf_str(buf *b, const char *s) {
    size_t n = strlen(s);
    buf_u64(b, n);
    buf_put(b, s, n);
}

/* ---- the writer --------------------------------------------------------------- */
ts_gguf_writer *ts_gguf_writer_new(void) { return calloc(1, sizeof(ts_gguf_writer)); }

void ts_gguf_writer_free(ts_gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++)
        free(w->kv[i].key), free(w->kv[i].val);
    for (size_t i = 0; i < w->n_t; i++)
        free(w->t[i].name), free(w->t[i].data);
    free(w->kv);
    free(w->t);
    free(w);
}

static void keep_error(ts_gguf_writer *w, ts_status code, const char *msg) {
    if (w->err) return;
    w->err = code;
    snprintf(w->err_msg, sizeof w->err_msg, "%s", msg);
}

/* Takes ownership of b's bytes. */
static void set_value(ts_gguf_writer *w, const char *key, uint32_t type, buf *b) {
    if (!w) {
        free(b->p);
        return;
    }
    if (!key) {
        free(b->p);
        keep_error(w, TS_ERR_USAGE, "a key is NULL");
        return;
    }
    if (b->oom) {
        free(b->p);
        char m[200];
        snprintf(m, sizeof m, "out of memory storing key '%.120s'", key);
        keep_error(w, TS_ERR_NOMEM, m);
        return;
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (!strcmp(w->kv[i].key, key)) {
            free(w->kv[i].val);
            w->kv[i].type = type, w->kv[i].val = b->p, w->kv[i].len = b->len;
            return;
        }
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 16;
        wkv *kv = realloc(w->kv, cap * sizeof *kv);
        if (!kv) {
            free(b->p);
            keep_error(w, TS_ERR_NOMEM, "out of memory adding a key");
            return;
        }
        w->kv = kv, w->cap_kv = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(b->p);
        keep_error(w, TS_ERR_NOMEM, "out of memory adding a key");
        return;
    }
    w->kv[w->n_kv++] = (wkv){k, type, b->p, b->len};
}

static void set_scalar(ts_gguf_writer *w, const char *key, uint32_t type, const void *v) {
    buf b = {0};
    buf_put(&b, v, ts_gguf_scalar_size_(type));
    set_value(w, key, type, &b);
}

void ts_gguf_set_u8(ts_gguf_writer *w, const char *key, uint8_t v) {
    set_scalar(w, key, TS_GGUF_U8, &v);
}
void ts_gguf_set_i8(ts_gguf_writer *w, const char *key, int8_t v) {
    set_scalar(w, key, TS_GGUF_I8, &v);
}
void ts_gguf_set_u16(ts_gguf_writer *w, const char *key, uint16_t v) {
    set_scalar(w, key, TS_GGUF_U16, &v);
}
void ts_gguf_set_i16(ts_gguf_writer *w, const char *key, int16_t v) {
    set_scalar(w, key, TS_GGUF_I16, &v);
}
void ts_gguf_set_u32(ts_gguf_writer *w, const char *key, uint32_t v) {
    set_scalar(w, key, TS_GGUF_U32, &v);
}
void ts_gguf_set_i32(ts_gguf_writer *w, const char *key, int32_t v) {
    set_scalar(w, key, TS_GGUF_I32, &v);
}
void ts_gguf_set_u64(ts_gguf_writer *w, const char *key, uint64_t v) {
    set_scalar(w, key, TS_GGUF_U64, &v);
}
void ts_gguf_set_i64(ts_gguf_writer *w, const char *key, int64_t v) {
    set_scalar(w, key, TS_GGUF_I64, &v);
}
void ts_gguf_set_f32(ts_gguf_writer *w, const char *key, float v) {
    set_scalar(w, key, TS_GGUF_F32, &v);
}
void ts_gguf_set_f64(ts_gguf_writer *w, const char *key, double v) {
    set_scalar(w, key, TS_GGUF_F64, &v);
}
void ts_gguf_set_bool(ts_gguf_writer *w, const char *key, bool v) {
    uint8_t u = v ? 1 : 0;
    set_scalar(w, key, TS_GGUF_BOOL, &u);
}

void ts_gguf_set_str(ts_gguf_writer *w, const char *key, const char *v) {
    if (w && !v) {
        keep_error(w, TS_ERR_USAGE, "a string value is NULL");
        return;
    }
    buf b = {0};
    if (v) buf_str(&b, v);
    set_value(w, key, TS_GGUF_STRING, &b);
}

void ts_gguf_set_arr(ts_gguf_writer *w, const char *key, ts_gguf_type elem_type, const void *data,
                     size_t n) {
    size_t es = ts_gguf_scalar_size_((uint32_t)elem_type);
    if (w && !es) {
        char m[200];
        snprintf(m, sizeof m, "key '%.100s': ts_gguf_set_arr takes scalar elements, not %s",
                 key ? key : "(null)", ts_gguf_type_name_((uint32_t)elem_type));
        keep_error(w, TS_ERR_USAGE, m);
        return;
    }
    if (w && n && !data) {
        keep_error(w, TS_ERR_USAGE, "array data is NULL");
        return;
    }
    buf b = {0};
    buf_u32(&b, (uint32_t)elem_type);
    buf_u64(&b, n);
    if (es && n > SIZE_MAX / es)
        b.oom = true;
    else if (n)
        buf_put(&b, data, n * es);
    set_value(w, key, TS_GGUF_ARRAY, &b);
}

void ts_gguf_set_arr_str(ts_gguf_writer *w, const char *key, const char *const *v, size_t n) {
    if (w && n && !v) {
        keep_error(w, TS_ERR_USAGE, "string array is NULL");
        return;
    }
    for (size_t i = 0; w && i < n; i++)
        if (!v[i]) {
            keep_error(w, TS_ERR_USAGE, "a string in a string array is NULL");
            return;
        }
    buf b = {0};
    buf_u32(&b, TS_GGUF_STRING);
    buf_u64(&b, n);
    for (size_t i = 0; i < n; i++)
        buf_str(&b, v[i]);
    set_value(w, key, TS_GGUF_ARRAY, &b);
}

ts_status ts_gguf_add_tensor(ts_gguf_writer *w, const char *name, ts_dtype dtype,
                             const int64_t *dims, int n_dims, const float *data) {
    if (!w || !name || !dims) return ts_fail(TS_ERR_USAGE, "ts_gguf_add_tensor: NULL argument");
    size_t name_len = strlen(name);
    if (name_len == 0 || name_len > TS_GGUF_MAX_NAME)
        return ts_fail(TS_ERR_USAGE, "tensor '%.80s': a name must be 1 to %d bytes", name,
                       TS_GGUF_MAX_NAME);
    int64_t block;
    size_t block_bytes;
    if (!ts_dtype_layout_((uint32_t)dtype, &block, &block_bytes))
        return ts_fail(TS_ERR_USAGE, "tensor '%s': unsupported dtype %d", name, (int)dtype);
    if (n_dims < 1 || n_dims > TS_GGUF_MAX_DIMS)
        return ts_fail(TS_ERR_USAGE, "tensor '%s': %d dimensions (1 to %d allowed)", name, n_dims,
                       TS_GGUF_MAX_DIMS);
    int64_t n = 1;
    for (int i = 0; i < n_dims; i++) {
        if (dims[i] < 0)
            return ts_fail(TS_ERR_USAGE, "tensor '%s': dimension %d is negative", name, i);
        if (dims[i] && n > INT64_MAX / 4 / dims[i])
            return ts_fail(TS_ERR_USAGE, "tensor '%s': too many elements", name);
        n *= dims[i];
    }
    if (dims[0] % block)
        return ts_fail(TS_ERR_USAGE,
                       "tensor '%s': %s needs dims[0] (%lld) to be a multiple of %lld", name,
                       ts_dtype_name(dtype), (long long)dims[0], (long long)block);
    if (n && !data) return ts_fail(TS_ERR_USAGE, "tensor '%s': data is NULL", name);
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name))
            return ts_fail(TS_ERR_USAGE, "tensor '%s' added twice", name);
    if ((uint64_t)n > SIZE_MAX / 4) return ts_fail(TS_ERR_NOMEM, "tensor '%s': too large", name);
    size_t n_bytes = (size_t)(n / block) * block_bytes;

    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 16;
        wtensor *t = realloc(w->t, cap * sizeof *t);
        if (!t) return ts_fail(TS_ERR_NOMEM, "tensor '%s': out of memory", name);
        w->t = t, w->cap_t = cap;
    }
    wtensor t = {.dtype = dtype, .n_dims = n_dims, .n_bytes = n_bytes};
    memcpy(t.dims, dims, (size_t)n_dims * sizeof *dims);
    t.name = strdup(name);
    t.data = malloc(n_bytes ? n_bytes : 1);
    if (!t.name || !t.data) {
        free(t.name), free(t.data);
        return ts_fail(TS_ERR_NOMEM, "tensor '%s': out of memory (%zu bytes)", name, n_bytes);
    }
    char what[96];
    snprintf(what, sizeof what, "tensor '%s'", name);
    ts_status s = ts_dtype_encode_(dtype, data, n, t.data, what);
    if (s) {
        free(t.name), free(t.data);
        return s;
    }
    w->t[w->n_t++] = t;
    return TS_OK;
}

/* The alignment the file will declare: general.alignment if the caller set
 * it (a u32 power of two, as the specification requires), else 32. */
static ts_status writer_alignment(const ts_gguf_writer *w, const char *path, uint64_t *align) {
    *align = TS_GGUF_ALIGNMENT;
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, "general.alignment")) continue;
        uint32_t a = 0;
        if (w->kv[i].type == TS_GGUF_U32) memcpy(&a, w->kv[i].val, 4);
        if (w->kv[i].type != TS_GGUF_U32 || a == 0 || (a & (a - 1)))
            return ts_fail(TS_ERR_USAGE, "%s: general.alignment must be a u32 power of two", path);
        *align = a;
    }
    return TS_OK;
}

static void put_zeros(FILE *fp, uint64_t n) {
    static const uint8_t zeros[64];
    while (n) {
        size_t k = n < sizeof zeros ? (size_t)n : sizeof zeros;
        fwrite(zeros, 1, k, fp);
        n -= k;
    }
}

static uint64_t pad_to(uint64_t x, uint64_t align) { return (align - x % align) % align; }

ts_status ts_gguf_write(ts_gguf_writer *w, const char *path) {
    if (!w || !path) return ts_fail(TS_ERR_USAGE, "ts_gguf_write: NULL argument");
    if (w->err) return ts_fail(w->err, "%s: %s", path, w->err_msg);
    uint64_t align;
    ts_status s = writer_alignment(w, path, &align);
    if (s) return s;

    /* the metadata (header, keys, tensor infos) in memory: it is small */
    buf m = {0};
    buf_put(&m, TS_GGUF_MAGIC, 4);
    buf_u32(&m, TS_GGUF_VERSION);
    buf_u64(&m, w->n_t);
    buf_u64(&m, w->n_kv);
    for (size_t i = 0; i < w->n_kv; i++) {
        buf_str(&m, w->kv[i].key);
        buf_u32(&m, w->kv[i].type);
        buf_put(&m, w->kv[i].val, w->kv[i].len);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        buf_str(&m, t->name);
        buf_u32(&m, (uint32_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++)
            buf_u64(&m, (uint64_t)t->dims[d]);
        buf_u32(&m, (uint32_t)t->dtype);
        buf_u64(&m, offset);
        offset += t->n_bytes + pad_to(t->n_bytes, align);
    }
    if (m.oom) {
        free(m.p);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    }

    ts_outfile o;
    s = ts_outfile_open(&o, path);
    if (s) {
        free(m.p);
        return s;
    }
    fwrite(m.p, 1, m.len, o.fp);
    put_zeros(o.fp, pad_to(m.len, align));
    free(m.p);
    /* every tensor padded, the last one too: llama.cpp reads the data
     * section as the sum of the padded sizes */
    for (size_t i = 0; i < w->n_t; i++) {
        fwrite(w->t[i].data, 1, w->t[i].n_bytes, o.fp);
        put_zeros(o.fp, pad_to(w->t[i].n_bytes, align));
    }
    return ts_outfile_commit(&o);
}
