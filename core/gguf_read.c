/* Reading GGUF v3 files (layout in core/gguf_write.c).
 *
 * The file is mapped, parsed once and validated completely before the
 * handle is returned: every count and length against the bytes left, every
 * tensor's dims, type, offset and size against the data section, no two keys
 * or tensors with one name, no two tensors sharing bytes. After a successful
 * open no accessor can read outside the buffer.
 *
 * Strings (keys, string values and string-array elements, tensor names) are
 * copied NUL-terminated into one arena; scalar values, arrays of scalars and
 * tensor data are read where they lie in the mapping. */
#include "core/gguf_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t key;         /* arena offset of the NUL-terminated key */
    uint32_t type;      /* ts_gguf_type */
    uint32_t elem;      /* arrays: element type */
    uint64_t n;         /* arrays: element count */
    const uint8_t *val; /* scalar value or array elements, in the buffer */
    size_t str;         /* string: arena offset; string array: first of n+1 offsets in str_offs */
} rkv;

struct ts_gguf {
    ts_mapped_file map; /* empty for ts_gguf_open_mem */
    char *name;         /* the path, for messages */
    uint32_t alignment;
    rkv *kv;
    int64_t n_kv;
    ts_gguf_tensor *t;
    int64_t n_t;
    char *arena; /* all strings, each NUL-terminated */
    size_t arena_len, arena_cap;
    size_t *str_offs; /* string arrays: n+1 arena offsets each (lengths are differences) */
    size_t n_str_offs, cap_str_offs;
    int64_t *kv_hash, *t_hash; /* open addressing: index + 1, 0 = empty */
    size_t kv_hash_cap, t_hash_cap;
};

/* ---- a bounds-checked cursor -------------------------------------------------- */
typedef struct {
    const uint8_t *p;
    size_t len, pos;
    const char *name;  /* file name for messages */
    const char *where; /* what is being read, for messages */
    char where_buf[160];
} cursor;

static ts_status truncated(const cursor *c) {
    return ts_fail(TS_ERR_INPUT, "%s: file ends early (at byte %zu of %zu, reading %s)", c->name,
                   c->pos, c->len, c->where);
}

static ts_status take(cursor *c, size_t n, const uint8_t **out) {
    if (n > c->len - c->pos) return truncated(c);
    *out = c->p + c->pos;
    c->pos += n;
    return TS_OK;
}

static ts_status get_u32(cursor *c, uint32_t *v) {
    const uint8_t *p = NULL;
    ts_status s = take(c, 4, &p);
    if (!s) memcpy(v, p, 4);
    return s;
}

static ts_status get_u64(cursor *c, uint64_t *v) {
    const uint8_t *p = NULL;
    ts_status s = take(c, 8, &p);
    if (!s) memcpy(v, p, 8);
    return s;
}

static size_t left(const cursor *c) { return c->len - c->pos; }

/* ---- the string arena ----------------------------------------------------------- */
static ts_status arena_reserve(ts_gguf *g, size_t n) {
    if (n <= g->arena_cap - g->arena_len) return TS_OK;
    size_t cap = g->arena_cap ? g->arena_cap : 256;
    while (cap - g->arena_len < n) {
        if (cap > SIZE_MAX / 2) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", g->name);
        cap *= 2;
    }
    char *a = realloc(g->arena, cap);
    if (!a) return ts_fail(TS_ERR_NOMEM, "%s: out of memory (strings)", g->name);
    g->arena = a, g->arena_cap = cap;
    return TS_OK;
}

/* Reads a GGUF string (u64 length, bytes) into the arena; *off is where it
 * starts there. NUL bytes inside are refused when nul_ok is false (names and
 * keys are looked up as C strings). */
static ts_status read_string(ts_gguf *g, cursor *c, size_t *off, bool nul_ok) {
    uint64_t n;
    ts_status s = get_u64(c, &n);
    if (s) return s;
    if (n > left(c))
        return ts_fail(TS_ERR_INPUT, "%s: string of %llu bytes at byte %zu runs past the end (%s)",
                       c->name, (unsigned long long)n, c->pos - 8, c->where);
    const uint8_t *p = c->p + c->pos;
    if (!nul_ok && memchr(p, 0, (size_t)n))
        return ts_fail(TS_ERR_INPUT, "%s: NUL byte inside a name at byte %zu (%s)", c->name, c->pos,
                       c->where);
    if ((s = arena_reserve(g, (size_t)n + 1))) return s;
    memcpy(g->arena + g->arena_len, p, (size_t)n);
    g->arena[g->arena_len + (size_t)n] = 0;
    *off = g->arena_len;
    g->arena_len += (size_t)n + 1;
    c->pos += (size_t)n;
    return TS_OK;
}

/* ---- hash sets of names (FNV-1a, linear probing) ------------------------------------ */
static uint64_t fnv1a(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static size_t hash_cap_for(int64_t n) {
    size_t cap = 16;
    while (cap < 2 * (size_t)n)
        cap *= 2;
    return cap;
}

/* Finds name; returns its index or -1 (and the empty slot in *slot). */
static int64_t hash_find(const int64_t *table, size_t cap, const char *name,
                         const char *(*name_of)(const ts_gguf *, int64_t), const ts_gguf *g,
                         size_t *slot) {
    size_t i = (size_t)fnv1a(name) & (cap - 1);
    for (;; i = (i + 1) & (cap - 1)) {
        if (!table[i]) {
            if (slot) *slot = i;
            return -1;
        }
        if (!strcmp(name_of(g, table[i] - 1), name)) return table[i] - 1;
    }
}

static const char *kv_name_of(const ts_gguf *g, int64_t i) { return g->arena + g->kv[i].key; }
static const char *t_name_of(const ts_gguf *g, int64_t i) { return g->t[i].name; }

/* ---- key/value pairs ----------------------------------------------------------------- */
static ts_status read_array(ts_gguf *g, cursor *c, rkv *kv) {
    ts_status s;
    if ((s = get_u32(c, &kv->elem)) || (s = get_u64(c, &kv->n))) return s;
    const char *key = g->arena + kv->key;
    if (kv->elem == TS_GGUF_ARRAY)
        return ts_fail(TS_ERR_INPUT, "%s: key '%s': arrays of arrays are not supported", g->name,
                       key);
    if (kv->elem == TS_GGUF_STRING) {
        /* every element takes at least its 8-byte length */
        if (kv->n > left(c) / 8)
            return ts_fail(TS_ERR_INPUT,
                           "%s: key '%s': %llu strings cannot fit in the %zu bytes left", g->name,
                           key, (unsigned long long)kv->n, left(c));
        size_t need = (size_t)kv->n + 1;
        if (need > g->cap_str_offs - g->n_str_offs) {
            size_t cap = g->cap_str_offs ? g->cap_str_offs : 64;
            while (cap - g->n_str_offs < need)
                cap *= 2;
            size_t *o = realloc(g->str_offs, cap * sizeof *o);
            if (!o) return ts_fail(TS_ERR_NOMEM, "%s: out of memory (key '%s')", g->name, key);
            g->str_offs = o, g->cap_str_offs = cap;
        }
        kv->str = g->n_str_offs;
        size_t *offs = g->str_offs + g->n_str_offs;
        g->n_str_offs += need;
        for (uint64_t i = 0; i < kv->n; i++)
            if ((s = read_string(g, c, &offs[i], true))) return s;
        offs[kv->n] = g->arena_len; /* end: lengths are differences minus the NUL */
        return TS_OK;
    }
    size_t es = ts_gguf_scalar_size_(kv->elem);
    if (!es)
        return ts_fail(TS_ERR_INPUT, "%s: key '%s': unknown array element type %u", g->name, key,
                       kv->elem);
    if (kv->n > left(c) / es)
        return ts_fail(TS_ERR_INPUT, "%s: key '%s': array of %llu %s runs past the end of the file",
                       g->name, key, (unsigned long long)kv->n, ts_gguf_type_name_(kv->elem));
    kv->val = c->p + c->pos;
    c->pos += (size_t)kv->n * es;
    if (kv->elem == TS_GGUF_BOOL)
        for (uint64_t i = 0; i < kv->n; i++)
            if (kv->val[i] > 1)
                return ts_fail(TS_ERR_INPUT, "%s: key '%s': element %llu is not a bool (%u)",
                               g->name, key, (unsigned long long)i, kv->val[i]);
    return TS_OK;
}

static ts_status read_kv(ts_gguf *g, cursor *c, int64_t i) {
    rkv *kv = &g->kv[i];
    memset(kv, 0, sizeof *kv);
    snprintf(c->where_buf, sizeof c->where_buf, "the name of key %lld", (long long)i);
    c->where = c->where_buf;
    ts_status s = read_string(g, c, &kv->key, false);
    if (s) return s;
    const char *key = g->arena + kv->key;
    size_t slot = 0;
    if (hash_find(g->kv_hash, g->kv_hash_cap, key, kv_name_of, g, &slot) >= 0)
        return ts_fail(TS_ERR_INPUT, "%s: key '%s' appears twice", g->name, key);
    snprintf(c->where_buf, sizeof c->where_buf, "the value of key '%.100s'", key);
    if ((s = get_u32(c, &kv->type))) return s;
    if (kv->type == TS_GGUF_STRING) {
        s = read_string(g, c, &kv->str, true);
    } else if (kv->type == TS_GGUF_ARRAY) {
        s = read_array(g, c, kv);
    } else {
        size_t es = ts_gguf_scalar_size_(kv->type);
        if (!es)
            return ts_fail(TS_ERR_INPUT, "%s: key '%s' has unknown value type %u", g->name, key,
                           kv->type);
        s = take(c, es, &kv->val);
        if (!s && kv->type == TS_GGUF_BOOL && kv->val[0] > 1)
            s = ts_fail(TS_ERR_INPUT, "%s: key '%s' is not a bool (%u)", g->name, key, kv->val[0]);
    }
    if (s) return s;
    g->kv_hash[slot] = i + 1;
    return TS_OK;
}

/* ---- tensor infos ---------------------------------------------------------------------- */
/* The name's arena offset goes to *name_off: t->name is set once the arena
 * stops moving. */
static ts_status read_tensor_info(ts_gguf *g, cursor *c, int64_t i, size_t *name_off,
                                  uint64_t *offset) {
    ts_gguf_tensor *t = &g->t[i];
    snprintf(c->where_buf, sizeof c->where_buf, "the name of tensor %lld", (long long)i);
    c->where = c->where_buf;
    ts_status s = read_string(g, c, name_off, false);
    if (s) return s;
    const char *name = g->arena + *name_off;
    snprintf(c->where_buf, sizeof c->where_buf, "the info of tensor '%.100s'", name);
    uint32_t n_dims, type;
    if ((s = get_u32(c, &n_dims))) return s;
    if (n_dims < 1 || n_dims > TS_GGUF_MAX_DIMS)
        return ts_fail(TS_ERR_INPUT, "%s: tensor '%s' has %u dimensions (1 to %d supported)",
                       g->name, name, n_dims, TS_GGUF_MAX_DIMS);
    t->n_dims = (int)n_dims;
    int64_t n = 1;
    bool overflow = false;
    for (uint32_t d = 0; d < n_dims; d++) {
        uint64_t v;
        if ((s = get_u64(c, &v))) return s;
        if (v > (uint64_t)INT64_MAX)
            return ts_fail(TS_ERR_INPUT, "%s: tensor '%s': dimension %u is %llu", g->name, name, d,
                           (unsigned long long)v);
        t->dims[d] = (int64_t)v;
        if (v && n > INT64_MAX / (int64_t)v)
            overflow = true;
        else
            n *= (int64_t)v;
    }
    for (int d = (int)n_dims; d < TS_GGUF_MAX_DIMS; d++)
        t->dims[d] = 1;
    if (overflow) {
        /* a zero dimension anywhere makes the product 0 after all */
        bool zero = false;
        for (uint32_t d = 0; d < n_dims; d++)
            zero |= t->dims[d] == 0;
        if (!zero)
            return ts_fail(TS_ERR_INPUT, "%s: tensor '%s': the number of elements overflows",
                           g->name, name);
        n = 0;
    }
    if ((s = get_u32(c, &type)) || (s = get_u64(c, offset))) return s;
    int64_t block;
    size_t block_bytes;
    if (!ts_dtype_layout_(type, &block, &block_bytes))
        return ts_fail(TS_ERR_INPUT,
                       "%s: tensor '%s' has unsupported type %u (f32, f16, bf16, "
                       "q8_0 are supported)",
                       g->name, name, type);
    if (t->dims[0] % block)
        return ts_fail(
            TS_ERR_INPUT, "%s: tensor '%s': %s needs dims[0] (%lld) to be a multiple of %lld",
            g->name, name, ts_dtype_name((ts_dtype)type), (long long)t->dims[0], (long long)block);
    if ((uint64_t)(n / block) > SIZE_MAX / block_bytes)
        return ts_fail(TS_ERR_INPUT, "%s: tensor '%s' is too large", g->name, name);
    t->dtype = (ts_dtype)type;
    t->n_elements = n;
    t->n_bytes = (size_t)(n / block) * block_bytes;
    return TS_OK;
}

typedef struct {
    uint64_t offset;
    int64_t index;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    if (x->offset != y->offset) return x->offset < y->offset ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Places the tensors: every offset aligned, inside the data section, and no
 * two tensors sharing a byte. */
static ts_status place_tensors(ts_gguf *g, const uint8_t *buf, size_t len, size_t data_start,
                               const uint64_t *offsets) {
    if (g->n_t == 0) return TS_OK;
    if (data_start > len)
        return ts_fail(TS_ERR_INPUT,
                       "%s: file ends at byte %zu, before its tensor data (from byte %zu)", g->name,
                       len, data_start);
    size_t data_len = len - data_start;
    span *sp = malloc((size_t)g->n_t * sizeof *sp);
    if (!sp) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", g->name);
    ts_status s = TS_OK;
    for (int64_t i = 0; i < g->n_t && !s; i++) {
        ts_gguf_tensor *t = &g->t[i];
        uint64_t off = offsets[i];
        if (off % g->alignment)
            s = ts_fail(TS_ERR_INPUT,
                        "%s: tensor '%s': offset %llu is not a multiple of the "
                        "alignment %u",
                        g->name, t->name, (unsigned long long)off, g->alignment);
        else if (off > data_len || t->n_bytes > data_len - off)
            s = ts_fail(TS_ERR_INPUT,
                        "%s: tensor '%s': %zu bytes at offset %llu run past the end of the file "
                        "(data section is %zu bytes)",
                        g->name, t->name, t->n_bytes, (unsigned long long)off, data_len);
        t->data = buf + data_start + (s ? 0 : off);
        sp[i] = (span){off, i};
    }
    if (!s) {
        /* in offset order, each non-empty tensor must start at or after the
         * furthest end seen so far (empty tensors occupy nothing) */
        qsort(sp, (size_t)g->n_t, sizeof *sp, cmp_span);
        uint64_t max_end = 0;
        const ts_gguf_tensor *max_t = NULL;
        for (int64_t i = 0; i < g->n_t && !s; i++) {
            const ts_gguf_tensor *t = &g->t[sp[i].index];
            if (!t->n_bytes) continue;
            if (max_t && sp[i].offset < max_end)
                s = ts_fail(TS_ERR_INPUT, "%s: tensors '%s' and '%s' overlap", g->name, max_t->name,
                            t->name);
            if (sp[i].offset + t->n_bytes > max_end) max_end = sp[i].offset + t->n_bytes, max_t = t;
        }
    }
    free(sp);
    return s;
}

/* ---- open ------------------------------------------------------------------------------ */
static ts_status parse(ts_gguf *g, const uint8_t *buf, size_t len) {
    cursor c = {.p = buf, .len = len, .name = g->name, .where = "the header"};
    const uint8_t *magic;
    uint32_t version;
    uint64_t n_t, n_kv;
    ts_status s;
    if (len < 4 || memcmp(buf, TS_GGUF_MAGIC, 4))
        return ts_fail(TS_ERR_INPUT, "%s: not a GGUF file (no \"GGUF\" magic)", g->name);
    if ((s = take(&c, 4, &magic)) || (s = get_u32(&c, &version))) return s;
    if (version == 0x03000000u)
        return ts_fail(TS_ERR_INPUT, "%s: big-endian GGUF files are not supported", g->name);
    if (version != TS_GGUF_VERSION)
        return ts_fail(TS_ERR_INPUT, "%s: GGUF version %u is not supported (only 3)", g->name,
                       version);
    if ((s = get_u64(&c, &n_t)) || (s = get_u64(&c, &n_kv))) return s;
    /* smallest key/value: 8-byte length + 4-byte type + 1 byte of value;
     * smallest tensor info: 8 + 4 + 8 + 4 + 8 bytes */
    if (n_kv > left(&c) / 13)
        return ts_fail(TS_ERR_INPUT, "%s: header claims %llu keys, more than the file can hold",
                       g->name, (unsigned long long)n_kv);
    if (n_t > left(&c) / 32)
        return ts_fail(TS_ERR_INPUT, "%s: header claims %llu tensors, more than the file can hold",
                       g->name, (unsigned long long)n_t);
    g->kv = calloc(n_kv ? (size_t)n_kv : 1, sizeof *g->kv);
    g->kv_hash_cap = hash_cap_for((int64_t)n_kv);
    g->kv_hash = calloc(g->kv_hash_cap, sizeof *g->kv_hash);
    if (!g->kv || !g->kv_hash) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", g->name);
    for (uint64_t i = 0; i < n_kv; i++) {
        if ((s = read_kv(g, &c, (int64_t)i))) return s;
        g->n_kv = (int64_t)i + 1;
    }

    /* general.alignment: a u32 power of two (as llama.cpp requires) */
    g->alignment = TS_GGUF_ALIGNMENT;
    int64_t ai = hash_find(g->kv_hash, g->kv_hash_cap, "general.alignment", kv_name_of, g, NULL);
    if (ai >= 0) {
        uint32_t a = 0;
        if (g->kv[ai].type == TS_GGUF_U32) memcpy(&a, g->kv[ai].val, 4);
        if (g->kv[ai].type != TS_GGUF_U32 || a == 0 || (a & (a - 1)))
            return ts_fail(TS_ERR_INPUT, "%s: general.alignment must be a u32 power of two",
                           g->name);
        g->alignment = a;
    }

    if (n_t > left(&c) / 32) /* recheck against what the keys left */
        return ts_fail(TS_ERR_INPUT, "%s: header claims %llu tensors, more than the file can hold",
                       g->name, (unsigned long long)n_t);
    size_t nt = n_t ? (size_t)n_t : 1;
    g->t = calloc(nt, sizeof *g->t);
    uint64_t *offsets = malloc(nt * sizeof *offsets);
    size_t *name_offs = malloc(nt * sizeof *name_offs);
    if (!g->t || !offsets || !name_offs) {
        free(offsets);
        free(name_offs);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory", g->name);
    }
    for (uint64_t i = 0; i < n_t && !s; i++) {
        s = read_tensor_info(g, &c, (int64_t)i, &name_offs[i], &offsets[i]);
        if (!s) g->n_t = (int64_t)i + 1;
    }
    /* the arena is final: names become pointers */
    for (int64_t i = 0; i < g->n_t; i++)
        g->t[i].name = g->arena + name_offs[i];
    free(name_offs);
    if (s) {
        free(offsets);
        return s;
    }
    g->t_hash_cap = hash_cap_for(g->n_t);
    g->t_hash = calloc(g->t_hash_cap, sizeof *g->t_hash);
    if (!g->t_hash) {
        free(offsets);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory", g->name);
    }
    for (int64_t i = 0; i < g->n_t && !s; i++) {
        size_t slot = 0;
        if (hash_find(g->t_hash, g->t_hash_cap, g->t[i].name, t_name_of, g, &slot) >= 0)
            s = ts_fail(TS_ERR_INPUT, "%s: tensor '%s' appears twice", g->name, g->t[i].name);
        else
            g->t_hash[slot] = i + 1;
    }
    size_t data_start = c.pos + (size_t)((g->alignment - c.pos % g->alignment) % g->alignment);
    if (!s) s = place_tensors(g, buf, len, data_start, offsets);
    free(offsets);
    return s;
}

static ts_status open_buffer(const uint8_t *buf, size_t len, const char *name, ts_gguf *g,
                             ts_gguf **out) {
    g->name = strdup(name ? name : "(buffer)");
    if (!g->name) {
        ts_gguf_close(g);
        return ts_fail(TS_ERR_NOMEM, "%s: out of memory", name ? name : "(buffer)");
    }
    ts_status s = parse(g, buf, len);
    if (s) {
        ts_gguf_close(g);
        return s;
    }
    *out = g;
    return TS_OK;
}

ts_status ts_gguf_open_mem(const uint8_t *buf, size_t len, const char *name, ts_gguf **out) {
    *out = NULL;
    ts_gguf *g = calloc(1, sizeof *g);
    if (!g) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", name ? name : "(buffer)");
    return open_buffer(buf, len, name, g, out);
}

ts_status ts_gguf_open(const char *path, ts_gguf **out) {
    *out = NULL;
    ts_gguf *g = calloc(1, sizeof *g);
    if (!g) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    ts_status s = ts_map_file(path, &g->map);
    if (s) {
        free(g);
        return s;
    }
    return open_buffer(g->map.data, g->map.len, path, g, out);
}

void ts_gguf_close(ts_gguf *g) {
    if (!g) return;
    ts_unmap_file(&g->map);
    free(g->name);
    free(g->kv);
    free(g->t);
    free(g->arena);
    free(g->str_offs);
    free(g->kv_hash);
    free(g->t_hash);
    free(g);
}

/* ---- keys ------------------------------------------------------------------------------ */
int64_t ts_gguf_n_keys(const ts_gguf *g) { return g->n_kv; }

const char *ts_gguf_key_name(const ts_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? g->arena + g->kv[i].key : NULL;
}

ts_gguf_type ts_gguf_key_type(const ts_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_kv ? (ts_gguf_type)g->kv[i].type : (ts_gguf_type)-1;
}

int64_t ts_gguf_find_key(const ts_gguf *g, const char *key) {
    if (!key) return -1;
    return hash_find(g->kv_hash, g->kv_hash_cap, key, kv_name_of, g, NULL);
}

static ts_status find_typed(const ts_gguf *g, const char *key, const rkv **kv) {
    if (!key) return ts_fail(TS_ERR_USAGE, "%s: NULL key", g->name);
    int64_t i = ts_gguf_find_key(g, key);
    if (i < 0) return ts_fail(TS_ERR_INPUT, "%s: key '%s' is missing", g->name, key);
    *kv = &g->kv[i];
    return TS_OK;
}

static ts_status wrong_type(const ts_gguf *g, const char *key, const rkv *kv, const char *want) {
    return ts_fail(TS_ERR_INPUT, "%s: key '%s' is a %s, not %s", g->name, key,
                   ts_gguf_type_name_(kv->type), want);
}

/* Integer values of any width as (negative?, magnitude). */
static bool int_value(const rkv *kv, bool *neg, uint64_t *mag) {
    int64_t sv = 0;
    uint64_t uv = 0;
    bool is_signed = false;
    switch (kv->type) {
    case TS_GGUF_U8:
        uv = kv->val[0];
        break;
    case TS_GGUF_U16: {
        uint16_t x;
        memcpy(&x, kv->val, 2);
        uv = x;
    } break;
    case TS_GGUF_U32: {
        uint32_t x;
        memcpy(&x, kv->val, 4);
        uv = x;
    } break;
    case TS_GGUF_U64:
        memcpy(&uv, kv->val, 8);
        break;
    case TS_GGUF_I8:
        sv = (int8_t)kv->val[0], is_signed = true;
        break;
    case TS_GGUF_I16: {
        int16_t x;
        memcpy(&x, kv->val, 2);
        sv = x;
        is_signed = true;
    } break;
    case TS_GGUF_I32: {
        int32_t x;
        memcpy(&x, kv->val, 4);
        sv = x;
        is_signed = true;
    } break;
    case TS_GGUF_I64:
        memcpy(&sv, kv->val, 8), is_signed = true;
        break;
    default:
        return false;
    }
    if (is_signed) {
        *neg = sv < 0;
        *mag = sv < 0 ? (uint64_t)0 - (uint64_t)sv : (uint64_t)sv;
    } else {
        *neg = false;
        *mag = uv;
    }
    return true;
}

static ts_status get_int(const ts_gguf *g, const char *key, uint64_t max_pos, uint64_t max_neg,
                         const char *want, bool *neg, uint64_t *mag) {
    const rkv *kv;
    ts_status s = find_typed(g, key, &kv);
    if (s) return s;
    if (!int_value(kv, neg, mag)) return wrong_type(g, key, kv, want);
    if ((*neg && *mag > max_neg) || (!*neg && *mag > max_pos))
        return ts_fail(TS_ERR_INPUT, "%s: key '%s': value %s%llu does not fit in %s", g->name, key,
                       *neg ? "-" : "", (unsigned long long)*mag, want);
    return TS_OK;
}

ts_status ts_gguf_get_u32(const ts_gguf *g, const char *key, uint32_t *v) {
    bool neg;
    uint64_t m;
    ts_status s = get_int(g, key, UINT32_MAX, 0, "a u32", &neg, &m);
    if (!s) *v = (uint32_t)m;
    return s;
}

ts_status ts_gguf_get_i32(const ts_gguf *g, const char *key, int32_t *v) {
    bool neg;
    uint64_t m;
    ts_status s = get_int(g, key, INT32_MAX, (uint64_t)INT32_MAX + 1, "an i32", &neg, &m);
    if (!s) *v = neg ? (int32_t)(-(int64_t)m) : (int32_t)m;
    return s;
}

ts_status ts_gguf_get_u64(const ts_gguf *g, const char *key, uint64_t *v) {
    bool neg;
    uint64_t m;
    ts_status s = get_int(g, key, UINT64_MAX, 0, "a u64", &neg, &m);
    if (!s) *v = m;
    return s;
}

ts_status ts_gguf_get_i64(const ts_gguf *g, const char *key, int64_t *v) {
    bool neg;
    uint64_t m;
    ts_status s = get_int(g, key, INT64_MAX, (uint64_t)INT64_MAX + 1, "an i64", &neg, &m);
    if (!s) *v = neg ? (int64_t)(0 - m) : (int64_t)m;
    return s;
}

ts_status ts_gguf_get_f64(const ts_gguf *g, const char *key, double *v) {
    const rkv *kv;
    ts_status s = find_typed(g, key, &kv);
    if (s) return s;
    if (kv->type == TS_GGUF_F64) {
        memcpy(v, kv->val, 8);
    } else if (kv->type == TS_GGUF_F32) {
        float f;
        memcpy(&f, kv->val, 4);
        *v = f;
    } else {
        return wrong_type(g, key, kv, "a float");
    }
    return TS_OK;
}

ts_status ts_gguf_get_f32(const ts_gguf *g, const char *key, float *v) {
    double d;
    ts_status s = ts_gguf_get_f64(g, key, &d);
    if (!s) *v = (float)d;
    return s;
}

ts_status ts_gguf_get_bool(const ts_gguf *g, const char *key, bool *v) {
    const rkv *kv;
    ts_status s = find_typed(g, key, &kv);
    if (s) return s;
    if (kv->type != TS_GGUF_BOOL) return wrong_type(g, key, kv, "a bool");
    *v = kv->val[0] != 0;
    return TS_OK;
}

ts_status ts_gguf_get_str(const ts_gguf *g, const char *key, const char **v) {
    const rkv *kv;
    ts_status s = find_typed(g, key, &kv);
    if (s) return s;
    if (kv->type != TS_GGUF_STRING) return wrong_type(g, key, kv, "a string");
    *v = g->arena + kv->str;
    return TS_OK;
}

ts_status ts_gguf_get_arr(const ts_gguf *g, const char *key, ts_gguf_type *elem_type,
                          const void **data, size_t *n) {
    const rkv *kv;
    ts_status s = find_typed(g, key, &kv);
    if (s) return s;
    if (kv->type != TS_GGUF_ARRAY) return wrong_type(g, key, kv, "an array");
    if (elem_type) *elem_type = (ts_gguf_type)kv->elem;
    if (data) *data = kv->elem == TS_GGUF_STRING ? NULL : kv->val;
    if (n) *n = (size_t)kv->n;
    return TS_OK;
}

ts_status ts_gguf_get_arr_str(const ts_gguf *g, const char *key, size_t i, const char **str,
                              size_t *len) {
    const rkv *kv;
    ts_status s = find_typed(g, key, &kv);
    if (s) return s;
    if (kv->type != TS_GGUF_ARRAY || kv->elem != TS_GGUF_STRING)
        return ts_fail(TS_ERR_INPUT, "%s: key '%s' is not an array of strings", g->name, key);
    if (i >= kv->n)
        return ts_fail(TS_ERR_INPUT, "%s: key '%s': index %zu is past the %llu strings", g->name,
                       key, i, (unsigned long long)kv->n);
    const size_t *offs = g->str_offs + kv->str;
    *str = g->arena + offs[i];
    if (len) *len = offs[i + 1] - offs[i] - 1;
    return TS_OK;
}

/* ---- tensors ---------------------------------------------------------------------------- */
int64_t ts_gguf_n_tensors(const ts_gguf *g) { return g->n_t; }

const ts_gguf_tensor *ts_gguf_tensor_at(const ts_gguf *g, int64_t i) {
    return i >= 0 && i < g->n_t ? &g->t[i] : NULL;
}

const ts_gguf_tensor *ts_gguf_find_tensor(const ts_gguf *g, const char *name) {
    if (!name) return NULL;
    int64_t i = hash_find(g->t_hash, g->t_hash_cap, name, t_name_of, g, NULL);
    return i >= 0 ? &g->t[i] : NULL;
}

uint32_t ts_gguf_alignment(const ts_gguf *g) { return g->alignment; }

ts_status ts_gguf_tensor_to_f32(const ts_gguf_tensor *t, float *out, int64_t n) {
    if (n != t->n_elements)
        return ts_fail(TS_ERR_USAGE, "tensor '%s' has %lld elements, not %lld", t->name,
                       (long long)t->n_elements, (long long)n);
    ts_dtype_decode_(t->dtype, t->data, n, out);
    return TS_OK;
}
