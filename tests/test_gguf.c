/* core/gguf*.c, core/f16.c: GGUF v3 files — every value type and tensor type
 * round-trips, conversions are correctly rounded, data is aligned, bad files
 * of every kind are refused with TS_ERR_INPUT and a message naming the file,
 * and an independent reader (@huggingface/gguf under Node.js) sees what we
 * wrote. */
#include "tessera.h"
#include "tessera/json.h"
#include "tests/testutil.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------------ */
static void check_ok(ts_status s, const char *what) {
    if (s != TS_OK) fail_msg("%s failed: %s", what, ts_last_error());
}

static ts_gguf *open_ok(const char *path) {
    ts_gguf *g = NULL;
    check_ok(ts_gguf_open(path, &g), path);
    assert_non_null(g);
    return g;
}

static uint8_t *slurp(const char *path, size_t *len) {
    uint8_t *b;
    check_ok(ts_read_file(path, 0, &b, len), path);
    return b;
}

/* A raw byte builder, to write files our writer would never produce. */
typedef struct {
    uint8_t *p;
    size_t len, cap;
} raw;

static void raw_put(raw *b, const void *d, size_t n) {
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}
static void raw_u8(raw *b, uint8_t v) { raw_put(b, &v, 1); }
static void raw_u32(raw *b, uint32_t v) { raw_put(b, &v, 4); }
static void raw_u64(raw *b, uint64_t v) { raw_put(b, &v, 8); }
static void raw_str(raw *b, const char *s) {
    raw_u64(b, strlen(s));
    raw_put(b, s, strlen(s));
}
static void raw_pad(raw *b, size_t align) {
    while (b->len % align)
        raw_u8(b, 0);
}
static void raw_header(raw *b, uint64_t n_tensors, uint64_t n_kv) {
    raw_put(b, "GGUF", 4);
    raw_u32(b, 3);
    raw_u64(b, n_tensors);
    raw_u64(b, n_kv);
}
static void raw_tensor_info(raw *b, const char *name, uint32_t n_dims, const uint64_t *dims,
                            uint32_t type, uint64_t offset) {
    raw_str(b, name);
    raw_u32(b, n_dims);
    for (uint32_t i = 0; i < n_dims; i++)
        raw_u64(b, dims[i]);
    raw_u32(b, type);
    raw_u64(b, offset);
}

/* The buffer must be refused: TS_ERR_INPUT, no handle, a message that
 * starts with the name and contains `want`. */
static void expect_bad_n(const uint8_t *buf, size_t len, const char *want, int line) {
    ts_gguf *g = (ts_gguf *)1;
    ts_clear_error();
    ts_status s = ts_gguf_open_mem(buf, len, "bad.gguf", &g);
    if (s != TS_ERR_INPUT)
        fail_msg("line %d: expected TS_ERR_INPUT, got %d (%s)", line, (int)s,
                 s ? ts_last_error() : "accepted");
    assert_null(g);
    const char *m = ts_last_error();
    if (strncmp(m, "bad.gguf: ", 10) || (want && !strstr(m, want)))
        fail_msg("line %d: message '%s' should name the file and say '%s'", line, m, want);
    if (strchr(m, '\n')) fail_msg("line %d: message has more than one line: '%s'", line, m);
}
#define expect_bad(b, want) expect_bad_n((b)->p, (b)->len, want, __LINE__)

/* ---- f16 / bf16 ---------------------------------------------------------------- */
static float f16_value(uint32_t h) { return h >= 0x7c00 ? 65536.0f : ts_f16_to_f32((uint16_t)h); }

static void test_f16_decode_exhaustive(void **state) {
    /* every code against its definition: (-1)^s 2^(e-15) (1 + m/1024), or
     * subnormal 2^-14 m/1024 */
    for (uint32_t h = 0; h < 0x10000; h++) {
        uint32_t sgn = h >> 15, e = (h >> 10) & 31, m = h & 1023;
        float f = ts_f16_to_f32((uint16_t)h);
        if (e == 31) {
            if (m)
                assert_true(isnan(f));
            else
                assert_true(isinf(f) && (signbit(f) != 0) == (sgn != 0));
            /* and back: NaN stays NaN, inf stays inf */
            uint16_t back = ts_f32_to_f16(f);
            assert_true(((back >> 10) & 31) == 31 && ((back & 1023) != 0) == (m != 0));
            continue;
        }
        double want = e ? ldexp(1.0 + m / 1024.0, (int)e - 15) : ldexp(m / 1024.0, -14);
        if (sgn) want = -want;
        assert_true((double)f == want);
        assert_true((signbit(f) != 0) == (sgn != 0));
        assert_int_equal(ts_f32_to_f16(f), h); /* exact values encode to themselves */
    }
}

static void test_f16_encode_rounds_to_nearest_even(void **state) {
    /* between each pair of neighbours a < b: the midpoint goes to the even
     * code, anything below it to a, anything above it to b (65520, halfway
     * from the largest finite to the next power of two, goes to inf) */
    for (uint32_t h = 0; h < 0x7c00; h++) {
        float a = f16_value(h), b = f16_value(h + 1);
        float mid = (a + b) / 2; /* exact: 12 significant bits */
        uint32_t even = (h & 1) ? h + 1 : h;
        for (int sgn = 0; sgn < 2; sgn++) {
            float s = sgn ? -1.0f : 1.0f;
            uint32_t sb = sgn ? 0x8000 : 0;
            assert_int_equal(ts_f32_to_f16(s * mid), even | sb);
            assert_int_equal(ts_f32_to_f16(s * nextafterf(mid, 0)), h | sb);
            assert_int_equal(ts_f32_to_f16(s * nextafterf(mid, INFINITY)), (h + 1) | sb);
            assert_int_equal(ts_f32_to_f16(s * a), h | sb);
        }
    }
    assert_int_equal(ts_f32_to_f16(INFINITY), 0x7c00);
    assert_int_equal(ts_f32_to_f16(-INFINITY), 0xfc00);
    assert_int_equal(ts_f32_to_f16(1e30f), 0x7c00);
    assert_int_equal(ts_f32_to_f16(FLT_MAX), 0x7c00);
    assert_int_equal(ts_f32_to_f16(-0.0f), 0x8000);
    assert_int_equal(ts_f32_to_f16(1e-30f), 0);      /* under half the smallest subnormal */
    assert_int_equal(ts_f32_to_f16(FLT_MIN / 4), 0); /* f32 subnormal */
    assert_int_equal(ts_f32_to_f16(0x1p-25f), 0);    /* tie with 0: to even */
    assert_int_equal(ts_f32_to_f16(0x1.8p-25f), 1);
    assert_int_equal(ts_f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(ts_f32_to_f16(1.0f), 0x3c00);
    assert_true(isnan(ts_f16_to_f32(ts_f32_to_f16(NAN))));
    assert_true(isnan(ts_f16_to_f32(ts_f32_to_f16(-NAN))));
}

static float bf16_value(uint32_t h) { return ts_bf16_to_f32((uint16_t)h); }

static void test_bf16_round_to_nearest_even(void **state) {
    for (uint32_t h = 0; h < 0x7f7f; h++) {
        float a = bf16_value(h), b = bf16_value(h + 1);
        assert_true(a < b);
        float mid = a + (b - a) / 2; /* exact: 9 significant bits; a + b could overflow */
        uint32_t even = (h & 1) ? h + 1 : h;
        assert_int_equal(ts_f32_to_bf16(mid), even);
        assert_int_equal(ts_f32_to_bf16(-mid), even | 0x8000);
        assert_int_equal(ts_f32_to_bf16(nextafterf(mid, 0)), h);
        assert_int_equal(ts_f32_to_bf16(nextafterf(mid, INFINITY)), h + 1);
        assert_int_equal(ts_f32_to_bf16(a), h);
    }
    /* above the largest finite bf16's midpoint: inf */
    assert_int_equal(ts_f32_to_bf16(FLT_MAX), 0x7f80);
    assert_int_equal(ts_f32_to_bf16(INFINITY), 0x7f80);
    assert_int_equal(ts_f32_to_bf16(-INFINITY), 0xff80);
    assert_true(isnan(ts_bf16_to_f32(ts_f32_to_bf16(NAN))));
    /* a NaN whose payload lives only in the low bits must not become inf */
    uint32_t snan_bits = 0x7f800001;
    float snan;
    memcpy(&snan, &snan_bits, 4);
    assert_true(isnan(ts_bf16_to_f32(ts_f32_to_bf16(snan))));
    assert_int_equal(ts_f32_to_bf16(1.0f), 0x3f80);
    assert_true(ts_bf16_to_f32(0x0001) == 0x1p-133f); /* subnormal */
}

/* ---- key/value round trip ------------------------------------------------------------ */
static const uint8_t u8s[] = {0, 1, 255};
static const int8_t i8s[] = {-128, -1, 0, 127};
static const uint16_t u16s[] = {0, 65535};
static const int16_t i16s[] = {-32768, 32767, 5};
static const uint32_t u32s[] = {0, 4000000000u, 7};
static const int32_t i32s[] = {INT32_MIN, INT32_MAX, -3};
static const uint64_t u64s[] = {0, UINT64_MAX, 1ull << 40};
static const int64_t i64s[] = {INT64_MIN, INT64_MAX, -1};
static const float f32s[] = {1.5f, -0.0f, FLT_MAX, 1e-40f};
static const double f64s[] = {3.141592653589793, -1e300, 5e-324};
static const uint8_t bools[] = {1, 0, 1, 1};
static const char *const strs[] = {"hello", "", "ünïcødé ✓", "a\tb\nc", ""};

static void write_all_types(const char *path) {
    ts_gguf_writer *w = ts_gguf_writer_new();
    assert_non_null(w);
    ts_gguf_set_str(w, "general.architecture", "tessera");
    ts_gguf_set_u8(w, "t.u8", 200);
    ts_gguf_set_i8(w, "t.i8", -100);
    ts_gguf_set_u16(w, "t.u16", 60000);
    ts_gguf_set_i16(w, "t.i16", -30000);
    ts_gguf_set_u32(w, "t.u32", 4000000000u);
    ts_gguf_set_i32(w, "t.i32", -2000000000);
    ts_gguf_set_u64(w, "t.u64", UINT64_MAX);
    ts_gguf_set_i64(w, "t.i64", INT64_MIN);
    ts_gguf_set_f32(w, "t.f32", 0.1f);
    ts_gguf_set_f64(w, "t.f64", 0.1);
    ts_gguf_set_bool(w, "t.bool", true);
    ts_gguf_set_bool(w, "t.false", false);
    ts_gguf_set_str(w, "t.str", "a string ✓");
    ts_gguf_set_str(w, "t.empty_str", "");
    ts_gguf_set_arr(w, "a.u8", TS_GGUF_U8, u8s, 3);
    ts_gguf_set_arr(w, "a.i8", TS_GGUF_I8, i8s, 4);
    ts_gguf_set_arr(w, "a.u16", TS_GGUF_U16, u16s, 2);
    ts_gguf_set_arr(w, "a.i16", TS_GGUF_I16, i16s, 3);
    ts_gguf_set_arr(w, "a.u32", TS_GGUF_U32, u32s, 3);
    ts_gguf_set_arr(w, "a.i32", TS_GGUF_I32, i32s, 3);
    ts_gguf_set_arr(w, "a.u64", TS_GGUF_U64, u64s, 3);
    ts_gguf_set_arr(w, "a.i64", TS_GGUF_I64, i64s, 3);
    ts_gguf_set_arr(w, "a.f32", TS_GGUF_F32, f32s, 4);
    ts_gguf_set_arr(w, "a.f64", TS_GGUF_F64, f64s, 3);
    ts_gguf_set_arr(w, "a.bool", TS_GGUF_BOOL, bools, 4);
    ts_gguf_set_arr_str(w, "a.str", strs, 5);
    ts_gguf_set_arr(w, "a.empty", TS_GGUF_I32, NULL, 0);
    ts_gguf_set_arr_str(w, "a.empty_str", NULL, 0);
    check_ok(ts_gguf_write(w, path), "write");
    ts_gguf_writer_free(w);
}

static void check_arr(const ts_gguf *g, const char *key, ts_gguf_type type, const void *want,
                      size_t n, size_t elem) {
    ts_gguf_type t;
    const void *data;
    size_t got_n;
    check_ok(ts_gguf_get_arr(g, key, &t, &data, &got_n), key);
    assert_int_equal(t, type);
    assert_int_equal(got_n, n);
    if (n) assert_memory_equal(data, want, n * elem);
}

static void test_all_value_types_round_trip(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "kv.gguf");
    write_all_types(path);
    ts_gguf *g = open_ok(path);
    assert_int_equal(ts_gguf_n_keys(g), 29);
    assert_int_equal(ts_gguf_n_tensors(g), 0);
    /* keys keep their order and types */
    static const char *order[] = {"general.architecture",
                                  "t.u8",
                                  "t.i8",
                                  "t.u16",
                                  "t.i16",
                                  "t.u32",
                                  "t.i32",
                                  "t.u64",
                                  "t.i64",
                                  "t.f32",
                                  "t.f64",
                                  "t.bool"};
    static const ts_gguf_type types[] = {TS_GGUF_STRING, TS_GGUF_U8,  TS_GGUF_I8,  TS_GGUF_U16,
                                         TS_GGUF_I16,    TS_GGUF_U32, TS_GGUF_I32, TS_GGUF_U64,
                                         TS_GGUF_I64,    TS_GGUF_F32, TS_GGUF_F64, TS_GGUF_BOOL};
    for (int i = 0; i < 12; i++) {
        assert_string_equal(ts_gguf_key_name(g, i), order[i]);
        assert_int_equal(ts_gguf_key_type(g, i), types[i]);
        assert_int_equal(ts_gguf_find_key(g, order[i]), i);
    }
    assert_int_equal(ts_gguf_find_key(g, "nope"), -1);
    assert_null(ts_gguf_key_name(g, 29));
    assert_null(ts_gguf_key_name(g, -1));

    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f;
    double d;
    bool b;
    const char *s;
    check_ok(ts_gguf_get_u32(g, "t.u8", &u32), "u8");
    assert_int_equal(u32, 200);
    check_ok(ts_gguf_get_i32(g, "t.i8", &i32), "i8");
    assert_int_equal(i32, -100);
    check_ok(ts_gguf_get_u32(g, "t.u16", &u32), "u16");
    assert_int_equal(u32, 60000);
    check_ok(ts_gguf_get_i32(g, "t.i16", &i32), "i16");
    assert_int_equal(i32, -30000);
    check_ok(ts_gguf_get_u32(g, "t.u32", &u32), "u32");
    assert_true(u32 == 4000000000u);
    check_ok(ts_gguf_get_i32(g, "t.i32", &i32), "i32");
    assert_int_equal(i32, -2000000000);
    check_ok(ts_gguf_get_u64(g, "t.u64", &u64), "u64");
    assert_true(u64 == UINT64_MAX);
    check_ok(ts_gguf_get_i64(g, "t.i64", &i64), "i64");
    assert_true(i64 == INT64_MIN);
    check_ok(ts_gguf_get_f32(g, "t.f32", &f), "f32");
    assert_true(f == 0.1f);
    check_ok(ts_gguf_get_f64(g, "t.f64", &d), "f64");
    assert_true(d == 0.1);
    check_ok(ts_gguf_get_f64(g, "t.f32", &d), "f32 as f64");
    assert_true(d == (double)0.1f);
    check_ok(ts_gguf_get_bool(g, "t.bool", &b), "bool");
    assert_true(b);
    check_ok(ts_gguf_get_bool(g, "t.false", &b), "false");
    assert_false(b);
    check_ok(ts_gguf_get_str(g, "t.str", &s), "str");
    assert_string_equal(s, "a string ✓");
    check_ok(ts_gguf_get_str(g, "t.empty_str", &s), "empty str");
    assert_string_equal(s, "");
    check_ok(ts_gguf_get_str(g, "general.architecture", &s), "arch");
    assert_string_equal(s, "tessera");

    check_arr(g, "a.u8", TS_GGUF_U8, u8s, 3, 1);
    check_arr(g, "a.i8", TS_GGUF_I8, i8s, 4, 1);
    check_arr(g, "a.u16", TS_GGUF_U16, u16s, 2, 2);
    check_arr(g, "a.i16", TS_GGUF_I16, i16s, 3, 2);
    check_arr(g, "a.u32", TS_GGUF_U32, u32s, 3, 4);
    check_arr(g, "a.i32", TS_GGUF_I32, i32s, 3, 4);
    check_arr(g, "a.u64", TS_GGUF_U64, u64s, 3, 8);
    check_arr(g, "a.i64", TS_GGUF_I64, i64s, 3, 8);
    check_arr(g, "a.f32", TS_GGUF_F32, f32s, 4, 4);
    check_arr(g, "a.f64", TS_GGUF_F64, f64s, 3, 8);
    check_arr(g, "a.bool", TS_GGUF_BOOL, bools, 4, 1);
    check_arr(g, "a.empty", TS_GGUF_I32, NULL, 0, 4);

    ts_gguf_type t;
    const void *data = (const void *)1;
    size_t n;
    check_ok(ts_gguf_get_arr(g, "a.str", &t, &data, &n), "a.str");
    assert_int_equal(t, TS_GGUF_STRING);
    assert_int_equal(n, 5);
    assert_null(data);
    for (size_t i = 0; i < 5; i++) {
        size_t len;
        check_ok(ts_gguf_get_arr_str(g, "a.str", i, &s, &len), "a.str[i]");
        assert_string_equal(s, strs[i]);
        assert_int_equal(len, strlen(strs[i]));
    }
    assert_int_equal(ts_gguf_get_arr_str(g, "a.str", 5, &s, NULL), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "a.str"));
    check_ok(ts_gguf_get_arr(g, "a.empty_str", &t, NULL, &n), "a.empty_str");
    assert_int_equal(t, TS_GGUF_STRING);
    assert_int_equal(n, 0);
    assert_int_equal(ts_gguf_get_arr_str(g, "a.empty_str", 0, &s, NULL), TS_ERR_INPUT);
    assert_int_equal(ts_gguf_get_arr_str(g, "a.u8", 0, &s, NULL), TS_ERR_INPUT);
    ts_gguf_close(g);
    tu_rmdir(dir);
}

static void test_getters_convert_and_refuse(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "kv.gguf");
    write_all_types(path);
    ts_gguf *g = open_ok(path);
    uint32_t u32;
    int32_t i32;
    uint64_t u64;
    int64_t i64;
    float f;
    bool b;
    const char *s;
    /* integers convert between types when the value fits */
    check_ok(ts_gguf_get_u64(g, "t.u8", &u64), "u8 as u64");
    assert_int_equal(u64, 200);
    check_ok(ts_gguf_get_i64(g, "t.u32", &i64), "u32 as i64");
    assert_true(i64 == 4000000000ll);
    check_ok(ts_gguf_get_i64(g, "t.i8", &i64), "i8 as i64");
    assert_true(i64 == -100);
    /* and refuse when it does not */
    assert_int_equal(ts_gguf_get_u32(g, "t.i8", &u32), TS_ERR_INPUT); /* negative */
    assert_non_null(strstr(ts_last_error(), "t.i8"));
    assert_non_null(strstr(ts_last_error(), "-100"));
    assert_int_equal(ts_gguf_get_i32(g, "t.u32", &i32), TS_ERR_INPUT); /* 4e9 > INT32_MAX */
    assert_int_equal(ts_gguf_get_u32(g, "t.u64", &u32), TS_ERR_INPUT);
    assert_int_equal(ts_gguf_get_i64(g, "t.u64", &i64), TS_ERR_INPUT);
    assert_int_equal(ts_gguf_get_u64(g, "t.i64", &u64), TS_ERR_INPUT);
    assert_int_equal(ts_gguf_get_i32(g, "t.i64", &i32), TS_ERR_INPUT);
    /* other types are refused, naming the key and both types */
    assert_int_equal(ts_gguf_get_u32(g, "t.str", &u32), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "'t.str' is a string"));
    assert_int_equal(ts_gguf_get_u32(g, "t.bool", &u32), TS_ERR_INPUT);
    assert_int_equal(ts_gguf_get_u32(g, "t.f32", &u32), TS_ERR_INPUT);
    assert_int_equal(ts_gguf_get_f32(g, "t.u8", &f), TS_ERR_INPUT);
    assert_int_equal(ts_gguf_get_bool(g, "t.u8", &b), TS_ERR_INPUT);
    assert_int_equal(ts_gguf_get_str(g, "a.str", &s), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "array"));
    assert_int_equal(ts_gguf_get_arr(g, "t.str", NULL, NULL, NULL), TS_ERR_INPUT);
    /* a missing key says so, with the file's name */
    assert_int_equal(ts_gguf_get_u32(g, "tessera.block_count", &u32), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), path));
    assert_non_null(strstr(ts_last_error(), "'tessera.block_count' is missing"));
    ts_gguf_close(g);
    tu_rmdir(dir);
}

static void test_setting_a_key_twice_replaces_it(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "twice.gguf");
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_u32(w, "a", 1);
    ts_gguf_set_str(w, "b", "x");
    ts_gguf_set_str(w, "a", "now a string");
    check_ok(ts_gguf_write(w, path), "write");
    ts_gguf_writer_free(w);
    ts_gguf *g = open_ok(path);
    assert_int_equal(ts_gguf_n_keys(g), 2);
    assert_string_equal(ts_gguf_key_name(g, 0), "a");
    const char *s;
    check_ok(ts_gguf_get_str(g, "a", &s), "a");
    assert_string_equal(s, "now a string");
    ts_gguf_close(g);
    tu_rmdir(dir);
}

static void test_many_keys_and_tensors(void **state) {
    /* enough names that lookups must go through the hash tables */
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "many.gguf");
    ts_gguf_writer *w = ts_gguf_writer_new();
    char name[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(name, sizeof name, "k.%d", i);
        ts_gguf_set_i32(w, name, i * 7 - 1000);
    }
    float v[2];
    int64_t dims[1] = {2};
    for (int i = 0; i < 1000; i++) {
        snprintf(name, sizeof name, "blk.%d.w", i);
        v[0] = (float)i, v[1] = (float)-i;
        check_ok(ts_gguf_add_tensor(w, name, TS_DTYPE_F32, dims, 1, v), name);
    }
    check_ok(ts_gguf_write(w, path), "write");
    ts_gguf_writer_free(w);
    ts_gguf *g = open_ok(path);
    assert_int_equal(ts_gguf_n_keys(g), 3000);
    assert_int_equal(ts_gguf_n_tensors(g), 1000);
    for (int i = 2999; i >= 0; i--) {
        snprintf(name, sizeof name, "k.%d", i);
        int32_t x;
        check_ok(ts_gguf_get_i32(g, name, &x), name);
        assert_int_equal(x, i * 7 - 1000);
        assert_int_equal(ts_gguf_find_key(g, name), i);
    }
    for (int i = 999; i >= 0; i--) {
        snprintf(name, sizeof name, "blk.%d.w", i);
        const ts_gguf_tensor *t = ts_gguf_find_tensor(g, name);
        assert_non_null(t);
        assert_ptr_equal(t, ts_gguf_tensor_at(g, i));
        check_ok(ts_gguf_tensor_to_f32(t, v, 2), name);
        assert_true(v[0] == (float)i && v[1] == (float)-i);
    }
    assert_null(ts_gguf_find_tensor(g, "blk.1000.w"));
    assert_null(ts_gguf_tensor_at(g, 1000));
    ts_gguf_close(g);
    tu_rmdir(dir);
}

/* ---- tensors ---------------------------------------------------------------------------- */
static void fill_random(float *x, int64_t n, ts_rng *r, float scale) {
    for (int64_t i = 0; i < n; i++)
        x[i] = scale * ts_rng_normal(r);
}

static void test_tensors_all_dtypes(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "t.gguf");
    ts_rng r;
    ts_rng_seed(&r, 9);
    /* shapes of 1 to 4 dims; sizes not multiples of 32 bytes, so padding matters */
    static const int64_t shapes[4][4] = {
        {96, 1, 1, 1}, {64, 3, 1, 1}, {32, 3, 5, 1}, {32, 2, 1, 3}};
    static const ts_dtype dtypes[4] = {TS_DTYPE_F32, TS_DTYPE_F16, TS_DTYPE_BF16, TS_DTYPE_Q8_0};
    float *src[4][4];
    int64_t count[4];
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.architecture", "tessera");
    char name[64];
    for (int s = 0; s < 4; s++) {
        count[s] = shapes[s][0] * shapes[s][1] * shapes[s][2] * shapes[s][3];
        for (int d = 0; d < 4; d++) {
            src[s][d] = malloc((size_t)count[s] * sizeof(float));
            /* blocks of different magnitudes, so q8_0 scales differ */
            for (int64_t i = 0; i < count[s]; i += 32)
                fill_random(src[s][d] + i, count[s] - i < 32 ? count[s] - i : 32, &r,
                            powf(10.0f, (float)(i / 32 % 7) - 3.0f));
            snprintf(name, sizeof name, "t%d.%s", s, ts_dtype_name(dtypes[d]));
            check_ok(ts_gguf_add_tensor(w, name, dtypes[d], shapes[s], s + 1, src[s][d]), name);
        }
    }
    check_ok(ts_gguf_write(w, path), "write");
    ts_gguf_writer_free(w);

    size_t len;
    uint8_t *buf = slurp(path, &len);
    ts_gguf *g = NULL;
    check_ok(ts_gguf_open_mem(buf, len, path, &g), "open_mem");
    assert_int_equal(ts_gguf_n_tensors(g), 16);
    assert_int_equal(ts_gguf_alignment(g), 32);
    size_t end = 0;
    for (int s = 0; s < 4; s++) {
        for (int d = 0; d < 4; d++) {
            snprintf(name, sizeof name, "t%d.%s", s, ts_dtype_name(dtypes[d]));
            const ts_gguf_tensor *t = ts_gguf_find_tensor(g, name);
            assert_non_null(t);
            assert_string_equal(t->name, name);
            assert_int_equal(t->dtype, dtypes[d]);
            assert_int_equal(t->n_dims, s + 1);
            for (int k = 0; k < s + 1; k++)
                assert_int_equal(t->dims[k], shapes[s][k]);
            assert_int_equal(t->n_elements, count[s]);
            size_t off = (size_t)((const uint8_t *)t->data - buf);
            assert_int_equal(off % 32, 0); /* aligned in the file */
            size_t want_bytes = dtypes[d] == TS_DTYPE_F32    ? (size_t)count[s] * 4
                                : dtypes[d] == TS_DTYPE_Q8_0 ? (size_t)count[s] / 32 * 34
                                                             : (size_t)count[s] * 2;
            assert_int_equal(t->n_bytes, want_bytes);
            if (off + t->n_bytes > end) end = off + t->n_bytes;

            float *out = malloc((size_t)count[s] * sizeof(float));
            assert_int_equal(ts_gguf_tensor_to_f32(t, out, count[s] + 1), TS_ERR_USAGE);
            check_ok(ts_gguf_tensor_to_f32(t, out, count[s]), name);
            const float *x = src[s][d];
            for (int64_t i = 0; i < count[s]; i++) {
                float err = fabsf(out[i] - x[i]);
                switch (dtypes[d]) {
                case TS_DTYPE_F32:
                    assert_true(out[i] == x[i]);
                    break;
                case TS_DTYPE_F16:
                    /* correctly rounded: the stored value is the f16 nearest */
                    assert_true(out[i] == ts_f16_to_f32(ts_f32_to_f16(x[i])));
                    if (fabsf(x[i]) >= 0x1p-14f)
                        assert_true(err <= fabsf(x[i]) * 0x1p-11f);
                    else
                        assert_true(err <= 0x1p-25f);
                    break;
                case TS_DTYPE_BF16:
                    assert_true(out[i] == ts_bf16_to_f32(ts_f32_to_bf16(x[i])));
                    assert_true(err <= fabsf(x[i]) * 0x1p-8f);
                    break;
                case TS_DTYPE_Q8_0: {
                    /* the block's stored scale: max|x|/127 rounded up to f16,
                     * and every element within half a step of it */
                    const uint8_t *blk = (const uint8_t *)t->data + (i / 32) * 34;
                    uint16_t h;
                    memcpy(&h, blk, 2);
                    float scale = ts_f16_to_f32(h), amax = 0;
                    for (int j = 0; j < 32; j++)
                        amax = fmaxf(amax, fabsf(x[i / 32 * 32 + j]));
                    assert_true(scale >= amax / 127);
                    assert_true(scale <= amax / 127 * (1 + 0x1p-10f) + 0x1p-24f);
                    assert_true(err <= scale / 2 * (1 + 1e-6f));
                    assert_true(out[i] == scale * (float)(int8_t)blk[2 + i % 32]);
                    break;
                }
                }
            }
            free(out);
        }
    }
    /* tensors fill the data section in order, each padded to 32, the last too */
    assert_true(len % 32 == 0);
    assert_true(len - end < 32);
    ts_gguf_close(g);
    free(buf);
    for (int s = 0; s < 4; s++)
        for (int d = 0; d < 4; d++)
            free(src[s][d]);
    tu_rmdir(dir);
}

static void test_special_values(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "special.gguf");
    const float x[8] = {
        INFINITY, -INFINITY, NAN, 0x1p-20f /* f16 subnormal */, -0.0f, 70000.0f /* f16 overflow */,
        1e-30f,   65504.0f};
    int64_t dims[1] = {8};
    ts_gguf_writer *w = ts_gguf_writer_new();
    check_ok(ts_gguf_add_tensor(w, "f16", TS_DTYPE_F16, dims, 1, x), "f16");
    check_ok(ts_gguf_add_tensor(w, "bf16", TS_DTYPE_BF16, dims, 1, x), "bf16");
    check_ok(ts_gguf_add_tensor(w, "f32", TS_DTYPE_F32, dims, 1, x), "f32");
    check_ok(ts_gguf_write(w, path), "write");
    ts_gguf_writer_free(w);
    ts_gguf *g = open_ok(path);
    float y[8];
    check_ok(ts_gguf_tensor_to_f32(ts_gguf_find_tensor(g, "f16"), y, 8), "f16");
    assert_true(isinf(y[0]) && y[0] > 0);
    assert_true(isinf(y[1]) && y[1] < 0);
    assert_true(isnan(y[2]));
    assert_true(y[3] == 0x1p-20f); /* exact: 16 × the smallest subnormal */
    assert_true(y[4] == 0 && signbit(y[4]));
    assert_true(isinf(y[5]));
    assert_true(y[6] == 0);
    assert_true(y[7] == 65504.0f);
    check_ok(ts_gguf_tensor_to_f32(ts_gguf_find_tensor(g, "bf16"), y, 8), "bf16");
    assert_true(isinf(y[0]) && y[0] > 0);
    assert_true(isinf(y[1]) && y[1] < 0);
    assert_true(isnan(y[2]));
    assert_true(y[3] == 0x1p-20f);
    assert_true(y[4] == 0 && signbit(y[4]));
    assert_true(y[5] == 70144.0f); /* nearest bf16 */
    assert_true(fabsf(y[6] - 1e-30f) <= 1e-30f * 0x1p-8f);
    check_ok(ts_gguf_tensor_to_f32(ts_gguf_find_tensor(g, "f32"), y, 8), "f32");
    assert_memory_equal(y, x, sizeof x); /* bit for bit, NaN included */
    ts_gguf_close(g);
    tu_rmdir(dir);
}

static void test_q8_0_edge_blocks(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "q8.gguf");
    float x[128];
    /* an all-zero block, a block with a tiny range, one at the largest scale
     * f16 can hold, one with a single spike */
    for (int i = 0; i < 32; i++)
        x[i] = 0;
    for (int i = 0; i < 32; i++)
        x[32 + i] = 1e-9f * (float)(i - 16);
    for (int i = 0; i < 32; i++)
        x[64 + i] = 8.3e6f * (float)(i - 16) / 16;
    for (int i = 0; i < 32; i++)
        x[96 + i] = i == 5 ? -1000.0f : 0.001f * (float)i;
    int64_t dims[2] = {32, 4};
    ts_gguf_writer *w = ts_gguf_writer_new();
    check_ok(ts_gguf_add_tensor(w, "q", TS_DTYPE_Q8_0, dims, 2, x), "q");
    check_ok(ts_gguf_write(w, path), "write");
    ts_gguf_writer_free(w);
    ts_gguf *g = open_ok(path);
    const ts_gguf_tensor *t = ts_gguf_find_tensor(g, "q");
    float y[128];
    check_ok(ts_gguf_tensor_to_f32(t, y, 128), "q");
    for (int b = 0; b < 4; b++) {
        uint16_t h;
        memcpy(&h, (const uint8_t *)t->data + b * 34, 2);
        float scale = ts_f16_to_f32(h);
        for (int i = b * 32; i < b * 32 + 32; i++) {
            assert_true(isfinite(y[i]));
            assert_true(fabsf(y[i] - x[i]) <= scale / 2 * (1 + 1e-6f));
        }
    }
    for (int i = 0; i < 32; i++)
        assert_true(y[i] == 0);
    /* the spike is exactly 127 steps; its scale the f16 just above 1000/127 */
    uint16_t h;
    memcpy(&h, (const uint8_t *)t->data + 3 * 34, 2);
    assert_true(ts_f16_to_f32(h) >= 1000.0f / 127);
    assert_true(ts_f16_to_f32((uint16_t)(h - 1)) < 1000.0f / 127);
    assert_int_equal((int8_t)((const uint8_t *)t->data)[3 * 34 + 2 + 5], -127);
    ts_gguf_close(g);
    tu_rmdir(dir);
}

static void test_custom_alignment(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "a64.gguf");
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_u32(w, "general.alignment", 64);
    float x[40];
    for (int i = 0; i < 40; i++)
        x[i] = (float)i;
    int64_t d1[1] = {3}, d2[1] = {40};
    check_ok(ts_gguf_add_tensor(w, "a", TS_DTYPE_F32, d1, 1, x), "a");
    check_ok(ts_gguf_add_tensor(w, "b", TS_DTYPE_F16, d2, 1, x), "b");
    check_ok(ts_gguf_write(w, path), "write");
    ts_gguf_writer_free(w);
    size_t len;
    uint8_t *buf = slurp(path, &len);
    ts_gguf *g;
    check_ok(ts_gguf_open_mem(buf, len, path, &g), "open");
    assert_int_equal(ts_gguf_alignment(g), 64);
    for (int i = 0; i < 2; i++)
        assert_int_equal(((const uint8_t *)ts_gguf_tensor_at(g, i)->data - buf) % 64, 0);
    assert_int_equal(len % 64, 0);
    float y[40];
    check_ok(ts_gguf_tensor_to_f32(ts_gguf_find_tensor(g, "b"), y, 40), "b");
    for (int i = 0; i < 40; i++)
        assert_true(y[i] == x[i]);
    ts_gguf_close(g);
    free(buf);

    /* an alignment that is not a power of two is refused when writing */
    w = ts_gguf_writer_new();
    ts_gguf_set_u32(w, "general.alignment", 48);
    assert_int_equal(ts_gguf_write(w, path), TS_ERR_USAGE);
    assert_non_null(strstr(ts_last_error(), "general.alignment"));
    ts_gguf_writer_free(w);
    tu_rmdir(dir);
}

/* ---- writer errors -------------------------------------------------------------------------- */
static void test_writer_refuses_bad_calls(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "w.gguf");
    ts_gguf_writer *w = ts_gguf_writer_new();
    float x[64] = {0};
    int64_t d32[2] = {32, 2}, d33[1] = {33}, dneg[1] = {-1},
            dhuge[4] = {1 << 30, 1 << 30, 1 << 30, 1 << 30};
    assert_int_equal(ts_gguf_add_tensor(w, "q", TS_DTYPE_Q8_0, d33, 1, x), TS_ERR_USAGE);
    assert_non_null(strstr(ts_last_error(), "multiple of 32"));
    assert_int_equal(ts_gguf_add_tensor(w, "n", TS_DTYPE_F32, dneg, 1, x), TS_ERR_USAGE);
    assert_int_equal(ts_gguf_add_tensor(w, "h", TS_DTYPE_F32, dhuge, 4, x), TS_ERR_USAGE);
    assert_int_equal(ts_gguf_add_tensor(w, "z", TS_DTYPE_F32, d32, 0, x), TS_ERR_USAGE);
    assert_int_equal(ts_gguf_add_tensor(w, "z", TS_DTYPE_F32, d32, 5, x), TS_ERR_USAGE);
    assert_int_equal(ts_gguf_add_tensor(w, "u", (ts_dtype)2, d32, 2, x), TS_ERR_USAGE);
    assert_int_equal(ts_gguf_add_tensor(w, "", TS_DTYPE_F32, d32, 2, x), TS_ERR_USAGE);
    char longname[80];
    memset(longname, 'x', 64);
    longname[64] = 0;
    assert_int_equal(ts_gguf_add_tensor(w, longname, TS_DTYPE_F32, d32, 2, x), TS_ERR_USAGE);
    longname[63] = 0; /* 63 bytes: the longest llama.cpp accepts */
    check_ok(ts_gguf_add_tensor(w, longname, TS_DTYPE_F32, d32, 2, x), "63-byte name");
    check_ok(ts_gguf_add_tensor(w, "ok", TS_DTYPE_Q8_0, d32, 2, x), "ok");
    assert_int_equal(ts_gguf_add_tensor(w, "ok", TS_DTYPE_F32, d32, 2, x), TS_ERR_USAGE);
    assert_non_null(strstr(ts_last_error(), "twice"));
    x[40] = NAN;
    assert_int_equal(ts_gguf_add_tensor(w, "nan", TS_DTYPE_Q8_0, d32, 2, x), TS_ERR_USAGE);
    assert_non_null(strstr(ts_last_error(), "NaN"));
    x[40] = 1e9f;
    assert_int_equal(ts_gguf_add_tensor(w, "big", TS_DTYPE_Q8_0, d32, 2, x), TS_ERR_USAGE);
    x[40] = 0;
    /* the failed calls left the writer usable */
    check_ok(ts_gguf_write(w, path), "write after refused tensors");
    ts_gguf *g = open_ok(path);
    assert_int_equal(ts_gguf_n_tensors(g), 2);
    ts_gguf_close(g);

    /* a bad setter call is reported by ts_gguf_write, and nothing is written */
    ts_gguf_set_arr(w, "bad", TS_GGUF_STRING, x, 1);
    const char *path2 = tu_path(dir, "w2.gguf");
    assert_int_equal(ts_gguf_write(w, path2), TS_ERR_USAGE);
    assert_non_null(strstr(ts_last_error(), "bad"));
    assert_non_null(strstr(ts_last_error(), path2));
    assert_int_equal(access(path2, F_OK), -1);
    ts_gguf_writer_free(w);

    /* an unwritable path: TS_ERR_IO, no temp file left */
    w = ts_gguf_writer_new();
    ts_gguf_set_u8(w, "x", 1);
    assert_int_equal(ts_gguf_write(w, tu_path(dir, "no/such/dir.gguf")), TS_ERR_IO);
    ts_gguf_writer_free(w);
    ts_gguf_writer_free(NULL);
    tu_rmdir(dir);
}

static void test_write_is_atomic(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "m.gguf");
    tu_write_file(path, "old", 3);
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.name", "new");
    check_ok(ts_gguf_write(w, path), "write");
    ts_gguf_writer_free(w);
    ts_gguf *g = open_ok(path);
    const char *s;
    check_ok(ts_gguf_get_str(g, "general.name", &s), "name");
    assert_string_equal(s, "new");
    ts_gguf_close(g);
    /* only the file itself in the folder: no temporary left behind */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);
    tu_rmdir(dir);
}

/* ---- bad files ----------------------------------------------------------------------------- */
/* A small valid file that ends exactly where its last tensor ends, so that
 * every shorter prefix lacks something the reader needs. */
static void write_small_valid(const char *path) {
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.architecture", "tessera");
    ts_gguf_set_u32(w, "tessera.block_count", 4);
    ts_gguf_set_f64(w, "f", 2.5);
    ts_gguf_set_bool(w, "b", true);
    ts_gguf_set_arr(w, "a", TS_GGUF_I16, i16s, 3);
    ts_gguf_set_arr_str(w, "s", strs, 3);
    float x[64];
    for (int i = 0; i < 64; i++)
        x[i] = (float)i / 8;
    int64_t d1[2] = {32, 1}, d2[1] = {8};
    check_ok(ts_gguf_add_tensor(w, "q", TS_DTYPE_Q8_0, d1, 2, x), "q");
    check_ok(ts_gguf_add_tensor(w, "h", TS_DTYPE_F16, d1, 1, x), "h");
    check_ok(ts_gguf_add_tensor(w, "w", TS_DTYPE_F32, d2, 1, x), "w"); /* 32 bytes: no padding */
    check_ok(ts_gguf_write(w, path), "write");
    ts_gguf_writer_free(w);
}

static void test_truncated_at_every_byte(void **state) {
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "small.gguf");
    write_small_valid(path);
    size_t len;
    uint8_t *buf = slurp(path, &len);
    ts_gguf *g;
    check_ok(ts_gguf_open_mem(buf, len, "small", &g), "whole file");
    ts_gguf_close(g);
    for (size_t n = 0; n < len; n++) {
        /* a fresh copy of exactly n bytes, so ASan sees any read past it */
        uint8_t *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        expect_bad_n(cut, n, NULL, (int)n);
        free(cut);
    }
    /* and through the file path (mmap), for a few cuts */
    const char *cut_path = tu_path(dir, "cut.gguf");
    size_t cuts[] = {0, 3, 4, 23, 40, len / 2, len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        tu_write_file(cut_path, buf, cuts[i]);
        g = (ts_gguf *)1;
        assert_int_equal(ts_gguf_open(cut_path, &g), TS_ERR_INPUT);
        assert_null(g);
        assert_non_null(strstr(ts_last_error(), cut_path));
    }
    free(buf);
    tu_rmdir(dir);
}

static void test_bad_headers(void **state) {
    raw b = {0};
    expect_bad(&b, "not a GGUF file"); /* empty */
    raw_put(&b, "GGUG", 4);
    raw_u32(&b, 3);
    raw_u64(&b, 0);
    raw_u64(&b, 0);
    expect_bad(&b, "not a GGUF file");
    for (uint32_t v = 1; v < 6; v++) {
        if (v == 3) continue;
        b.len = 0;
        raw_put(&b, "GGUF", 4);
        raw_u32(&b, v);
        raw_u64(&b, 0);
        raw_u64(&b, 0);
        expect_bad(&b, "version");
    }
    b.len = 0;
    raw_put(&b, "GGUF\0\0\0\3", 8); /* version 3 written big-endian */
    raw_u64(&b, 0);
    raw_u64(&b, 0);
    expect_bad(&b, "big-endian");
    b.len = 0;
    raw_header(&b, 0, 0);
    ts_gguf *g;
    check_ok(ts_gguf_open_mem(b.p, b.len, "empty", &g), "empty but valid");
    assert_int_equal(ts_gguf_n_keys(g), 0);
    ts_gguf_close(g);
    b.len = 0;
    raw_header(&b, 0, UINT64_MAX);
    expect_bad(&b, "keys");
    b.len = 0;
    raw_header(&b, 1ull << 62, 0);
    expect_bad(&b, "tensors");
    b.len = 0;
    raw_header(&b, 0, 1000); /* plausible count, but the file is short */
    raw_str(&b, "k");
    raw_u32(&b, TS_GGUF_U8);
    raw_u8(&b, 1);
    for (int i = 0; i < 20000; i++)
        raw_u8(&b, 0);
    expect_bad(&b, NULL);
    free(b.p);
}

static void test_bad_values(void **state) {
    raw b = {0};
    /* key length beyond the end of the file */
    raw_header(&b, 0, 1);
    raw_u64(&b, 1000);
    raw_put(&b, "abcdefghijklmnopqrstuvwxyz", 26);
    expect_bad(&b, "runs past the end");
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_u64(&b, UINT64_MAX);
    raw_put(&b, "abcdefghijklmnopqrstuvwxyz", 26);
    expect_bad(&b, "runs past the end");
    /* string value length beyond the end */
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "k");
    raw_u32(&b, TS_GGUF_STRING);
    raw_u64(&b, 1ull << 63);
    raw_put(&b, "xyz", 3);
    expect_bad(&b, "runs past the end");
    /* unknown value type */
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "k");
    raw_u32(&b, 13);
    raw_u64(&b, 0);
    expect_bad(&b, "unknown value type 13");
    /* bool that is neither 0 nor 1 */
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "k");
    raw_u32(&b, TS_GGUF_BOOL);
    raw_u8(&b, 2);
    expect_bad(&b, "not a bool");
    /* array count beyond the end, for scalars and strings */
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "k");
    raw_u32(&b, TS_GGUF_ARRAY);
    raw_u32(&b, TS_GGUF_U64);
    raw_u64(&b, UINT64_MAX / 4);
    raw_u64(&b, 1);
    expect_bad(&b, "runs past the end");
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "k");
    raw_u32(&b, TS_GGUF_ARRAY);
    raw_u32(&b, TS_GGUF_STRING);
    raw_u64(&b, 1ull << 60);
    raw_str(&b, "one");
    expect_bad(&b, "strings cannot fit");
    /* a string element running past the end */
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "k");
    raw_u32(&b, TS_GGUF_ARRAY);
    raw_u32(&b, TS_GGUF_STRING);
    raw_u64(&b, 2);
    raw_str(&b, "one");
    raw_u64(&b, 100);
    raw_put(&b, "two", 3);
    for (int i = 0; i < 8; i++)
        raw_u8(&b, 0);
    expect_bad(&b, "runs past the end");
    /* arrays of arrays, unknown element types */
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "k");
    raw_u32(&b, TS_GGUF_ARRAY);
    raw_u32(&b, TS_GGUF_ARRAY);
    raw_u64(&b, 1);
    raw_u32(&b, TS_GGUF_U8);
    raw_u64(&b, 1);
    raw_u8(&b, 7);
    expect_bad(&b, "arrays of arrays");
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "k");
    raw_u32(&b, TS_GGUF_ARRAY);
    raw_u32(&b, 99);
    raw_u64(&b, 0);
    raw_u64(&b, 0);
    expect_bad(&b, "element type 99");
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "k");
    raw_u32(&b, TS_GGUF_ARRAY);
    raw_u32(&b, TS_GGUF_BOOL);
    raw_u64(&b, 2);
    raw_u8(&b, 1);
    raw_u8(&b, 9);
    expect_bad(&b, "not a bool");
    /* duplicate keys; a NUL inside a key */
    b.len = 0;
    raw_header(&b, 0, 2);
    raw_str(&b, "general.name");
    raw_u32(&b, TS_GGUF_U8);
    raw_u8(&b, 1);
    raw_str(&b, "general.name");
    raw_u32(&b, TS_GGUF_U8);
    raw_u8(&b, 2);
    expect_bad(&b, "'general.name' appears twice");
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_u64(&b, 3);
    raw_put(&b, "a\0b", 3);
    raw_u32(&b, TS_GGUF_U8);
    raw_u8(&b, 1);
    expect_bad(&b, "NUL");
    /* general.alignment of the wrong type or not a power of two */
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "general.alignment");
    raw_u32(&b, TS_GGUF_U32);
    raw_u32(&b, 24);
    expect_bad(&b, "alignment");
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "general.alignment");
    raw_u32(&b, TS_GGUF_U64);
    raw_u64(&b, 32);
    expect_bad(&b, "alignment");
    b.len = 0;
    raw_header(&b, 0, 1);
    raw_str(&b, "general.alignment");
    raw_u32(&b, TS_GGUF_U32);
    raw_u32(&b, 0);
    expect_bad(&b, "alignment");
    free(b.p);
}

/* One tensor info + data: a file with a single f32 tensor of dims, at offset. */
static void one_tensor(raw *b, uint32_t n_dims, const uint64_t *dims, uint32_t type,
                       uint64_t offset, size_t data_bytes) {
    b->len = 0;
    raw_header(b, 1, 0);
    raw_tensor_info(b, "t", n_dims, dims, type, offset);
    raw_pad(b, 32);
    for (size_t i = 0; i < data_bytes; i++)
        raw_u8(b, (uint8_t)i);
}

static void test_bad_tensors(void **state) {
    raw b = {0};
    uint64_t d4[1] = {4};
    one_tensor(&b, 1, d4, TS_DTYPE_F32, 0, 16);
    ts_gguf *g;
    check_ok(ts_gguf_open_mem(b.p, b.len, "ok", &g), "one tensor"); /* the baseline is valid */
    ts_gguf_close(g);
    one_tensor(&b, 1, d4, TS_DTYPE_F32, 0, 15);
    expect_bad(&b, "run past the end");
    one_tensor(&b, 1, d4, TS_DTYPE_F32, 32, 40); /* 32 + 16 > 40 */
    expect_bad(&b, "run past the end");
    one_tensor(&b, 1, d4, TS_DTYPE_F32, 1ull << 63, 16);
    expect_bad(&b, NULL);
    one_tensor(&b, 1, d4, TS_DTYPE_F32, UINT64_MAX - 31, 16);
    expect_bad(&b, NULL);
    one_tensor(&b, 1, d4, TS_DTYPE_F32, 4, 64);
    expect_bad(&b, "not a multiple of the alignment");
    one_tensor(&b, 0, d4, TS_DTYPE_F32, 0, 16);
    expect_bad(&b, "0 dimensions");
    uint64_t d5[5] = {1, 1, 1, 1, 4};
    one_tensor(&b, 5, d5, TS_DTYPE_F32, 0, 16);
    expect_bad(&b, "5 dimensions");
    uint64_t dover[4] = {1ull << 32, 1ull << 32, 1, 1};
    one_tensor(&b, 2, dover, TS_DTYPE_F32, 0, 16);
    expect_bad(&b, "overflows");
    uint64_t dbig[2] = {1ull << 31, 1ull << 31}; /* 2^62 elements fit in int64, not in the file */
    one_tensor(&b, 2, dbig, TS_DTYPE_F32, 0, 16);
    expect_bad(&b, NULL);
    uint64_t dneg[1] = {1ull << 63};
    one_tensor(&b, 1, dneg, TS_DTYPE_F32, 0, 16);
    expect_bad(&b, "dimension 0");
    one_tensor(&b, 1, d4, 2 /* q4_0 */, 0, 16);
    expect_bad(&b, "unsupported type 2");
    one_tensor(&b, 1, d4, 12345, 0, 16);
    expect_bad(&b, "unsupported type");
    one_tensor(&b, 1, d4, TS_DTYPE_Q8_0, 0, 64);
    expect_bad(&b, "multiple of 32");
    /* a zero dimension with an overflowing other one is just empty */
    uint64_t dzero[3] = {0, 1ull << 40, 1ull << 40};
    one_tensor(&b, 3, dzero, TS_DTYPE_F32, 0, 0);
    check_ok(ts_gguf_open_mem(b.p, b.len, "zero", &g), "zero-element tensor");
    assert_int_equal(ts_gguf_tensor_at(g, 0)->n_elements, 0);
    float y;
    check_ok(ts_gguf_tensor_to_f32(ts_gguf_tensor_at(g, 0), &y, 0), "convert nothing");
    ts_gguf_close(g);

    /* two tensors: overlapping, duplicate names, NUL in a name */
    b.len = 0;
    raw_header(&b, 2, 0);
    raw_tensor_info(&b, "a", 1, (uint64_t[]){16}, TS_DTYPE_F32, 0);
    raw_tensor_info(&b, "b", 1, (uint64_t[]){8}, TS_DTYPE_F32, 32);
    raw_pad(&b, 32);
    for (int i = 0; i < 64; i++)
        raw_u8(&b, 0);
    expect_bad(&b, "overlap");
    /* an empty tensor between two that overlap hides nothing */
    b.len = 0;
    raw_header(&b, 3, 0);
    raw_tensor_info(&b, "a", 1, (uint64_t[]){24}, TS_DTYPE_F32, 0);
    raw_tensor_info(&b, "e", 1, (uint64_t[]){0}, TS_DTYPE_F32, 32);
    raw_tensor_info(&b, "c", 1, (uint64_t[]){4}, TS_DTYPE_F32, 64);
    raw_pad(&b, 32);
    for (int i = 0; i < 128; i++)
        raw_u8(&b, 0);
    expect_bad(&b, "tensors 'a' and 'c' overlap");
    b.len = 0;
    raw_header(&b, 2, 0);
    raw_tensor_info(&b, "a", 1, (uint64_t[]){8}, TS_DTYPE_F32, 0);
    raw_tensor_info(&b, "a", 1, (uint64_t[]){8}, TS_DTYPE_F32, 32);
    raw_pad(&b, 32);
    for (int i = 0; i < 64; i++)
        raw_u8(&b, 0);
    expect_bad(&b, "'a' appears twice");
    /* the same two, named apart and placed in reverse order: fine */
    b.len = 0;
    raw_header(&b, 2, 0);
    raw_tensor_info(&b, "a", 1, (uint64_t[]){8}, TS_DTYPE_F32, 32);
    raw_tensor_info(&b, "b", 1, (uint64_t[]){8}, TS_DTYPE_F32, 0);
    raw_pad(&b, 32);
    for (int i = 0; i < 64; i++)
        raw_u8(&b, (uint8_t)i);
    check_ok(ts_gguf_open_mem(b.p, b.len, "rev", &g), "reversed tensors");
    assert_int_equal(((const uint8_t *)ts_gguf_find_tensor(g, "a")->data)[0], 32);
    ts_gguf_close(g);
    b.len = 0;
    raw_header(&b, 1, 0);
    raw_u64(&b, 2);
    raw_put(&b, "a\0", 2);
    raw_u32(&b, 1);
    raw_u64(&b, 1);
    raw_u32(&b, 0);
    raw_u64(&b, 0);
    raw_pad(&b, 32);
    raw_u32(&b, 0);
    expect_bad(&b, "NUL");
    free(b.p);
}

static void test_open_refuses_non_files(void **state) {
    char *dir = tu_mkdtemp();
    ts_gguf *g = (ts_gguf *)1;
    assert_int_equal(ts_gguf_open(dir, &g), TS_ERR_INPUT);
    assert_null(g);
    assert_non_null(strstr(ts_last_error(), "directory"));
    assert_int_equal(ts_gguf_open(tu_path(dir, "missing.gguf"), &g), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "missing.gguf"));
    const char *txt = tu_path(dir, "model.gguf");
    tu_write_file(txt, "this is text, not a model\n", 26);
    assert_int_equal(ts_gguf_open(txt, &g), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "not a GGUF file"));
    tu_write_file(txt, "", 0);
    assert_int_equal(ts_gguf_open(txt, &g), TS_ERR_INPUT);
    tu_rmdir(dir);
}

/* The fuzzer's seeds stay valid files as the reader evolves. */
static void test_fuzz_seeds_are_valid(void **state) {
    static const char *const seeds[] = {"empty", "values", "tokenizer", "dtypes", "model"};
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        char path[256];
        snprintf(path, sizeof path, "fuzz/corpus/gguf/%s.gguf", seeds[i]);
        ts_gguf *g = open_ok(path);
        for (int64_t t = 0; t < ts_gguf_n_tensors(g); t++) {
            const ts_gguf_tensor *tt = ts_gguf_tensor_at(g, t);
            float *out = malloc((size_t)tt->n_elements * sizeof(float) + 1);
            check_ok(ts_gguf_tensor_to_f32(tt, out, tt->n_elements), tt->name);
            for (int64_t j = 0; j < tt->n_elements; j++)
                assert_true(isfinite(out[j]));
            free(out);
        }
        ts_gguf_close(g);
    }
    ts_gguf *g = open_ok("fuzz/corpus/gguf/model.gguf");
    assert_int_equal(ts_gguf_alignment(g), 64);
    assert_non_null(ts_gguf_find_tensor(g, "blk.0.ffn_up_exps.weight"));
    ts_gguf_close(g);
}

/* ---- interoperability: @huggingface/gguf reads what we write ------------------------------------
 */
static const char *json_str(const ts_json *o, const char *key) {
    const ts_json *v = ts_json_get(o, key);
    assert_non_null(v);
    assert_int_equal(v->type, TS_JSON_STRING);
    return v->str;
}

static double json_num(const ts_json *v) {
    assert_non_null(v);
    if (v->type == TS_JSON_STRING) {
        if (!strcmp(v->str, "nan")) return NAN;
        if (!strcmp(v->str, "inf")) return INFINITY;
        if (!strcmp(v->str, "-inf")) return -INFINITY;
        return strtod(v->str, NULL);
    }
    assert_int_equal(v->type, TS_JSON_NUMBER);
    return v->number;
}

/* The value of one scalar element of type t at p, as the JSON the script prints. */
static void check_json_scalar(const ts_json *v, ts_gguf_type t, const void *p) {
    char want[64] = "";
    switch (t) {
    case TS_GGUF_U8:
        snprintf(want, sizeof want, "%u", *(const uint8_t *)p);
        break;
    case TS_GGUF_I8:
        snprintf(want, sizeof want, "%d", *(const int8_t *)p);
        break;
    case TS_GGUF_U16:
        snprintf(want, sizeof want, "%u", *(const uint16_t *)p);
        break;
    case TS_GGUF_I16:
        snprintf(want, sizeof want, "%d", *(const int16_t *)p);
        break;
    case TS_GGUF_U32:
        snprintf(want, sizeof want, "%u", *(const uint32_t *)p);
        break;
    case TS_GGUF_I32:
        snprintf(want, sizeof want, "%d", *(const int32_t *)p);
        break;
    case TS_GGUF_U64:
        snprintf(want, sizeof want, "%llu", (unsigned long long)*(const uint64_t *)p);
        break;
    case TS_GGUF_I64:
        snprintf(want, sizeof want, "%lld", (long long)*(const int64_t *)p);
        break;
    case TS_GGUF_F32: {
        float f = *(const float *)p;
        double got = json_num(v);
        assert_true(got == (double)f || (isnan(f) && isnan(got)));
        return;
    }
    case TS_GGUF_F64: {
        double d = *(const double *)p, got = json_num(v);
        assert_true(got == d || (isnan(d) && isnan(got)));
        return;
    }
    case TS_GGUF_BOOL:
        assert_int_equal(v->type, TS_JSON_BOOL);
        assert_int_equal(v->boolean, *(const uint8_t *)p != 0);
        return;
    default:
        fail_msg("unexpected type %d", (int)t);
    }
    /* integers: numbers for small ones, decimal strings for 64-bit BigInts */
    if (v->type == TS_JSON_STRING) {
        assert_string_equal(v->str, want);
    } else {
        assert_int_equal(v->type, TS_JSON_NUMBER);
        assert_true(v->number == strtod(want, NULL));
    }
}

static void test_interop_huggingface_gguf(void **state) {
    if (system("command -v node >/dev/null 2>&1") != 0) {
        fprintf(stderr, "SKIP interop: node is not installed (apt-get install nodejs npm)\n");
        skip();
    }
    if (system("node -e 'process.exit(parseInt(process.versions.node) >= 20 ? 0 : 3)'") != 0) {
        fprintf(stderr, "SKIP interop: @huggingface/gguf needs Node.js 20 or newer\n");
        skip();
    }
    if (access("tests/interop/node_modules/@huggingface/gguf/package.json", R_OK) != 0) {
        fprintf(stderr, "SKIP interop: @huggingface/gguf is not installed; run "
                        "(cd tests/interop && npm ci --no-audit --no-fund)\n");
        skip();
    }
    char *dir = tu_mkdtemp();
    const char *path = tu_path(dir, "interop.gguf");
    /* all value types, plus tensors of all four dtypes */
    ts_gguf_writer *w = ts_gguf_writer_new();
    ts_gguf_set_str(w, "general.architecture", "tessera");
    ts_gguf_set_u8(w, "t.u8", 200);
    ts_gguf_set_i8(w, "t.i8", -100);
    ts_gguf_set_u16(w, "t.u16", 60000);
    ts_gguf_set_i16(w, "t.i16", -30000);
    ts_gguf_set_u32(w, "t.u32", 4000000000u);
    ts_gguf_set_i32(w, "t.i32", -2000000000);
    ts_gguf_set_u64(w, "t.u64", UINT64_MAX);
    ts_gguf_set_i64(w, "t.i64", INT64_MIN);
    ts_gguf_set_f32(w, "t.f32", 0.1f);
    ts_gguf_set_f64(w, "t.f64", 0.1);
    ts_gguf_set_bool(w, "t.bool", true);
    ts_gguf_set_str(w, "t.str", "a string ✓");
    ts_gguf_set_str(w, "t.empty_str", "");
    ts_gguf_set_arr(w, "a.u8", TS_GGUF_U8, u8s, 3);
    ts_gguf_set_arr(w, "a.i8", TS_GGUF_I8, i8s, 4);
    ts_gguf_set_arr(w, "a.u16", TS_GGUF_U16, u16s, 2);
    ts_gguf_set_arr(w, "a.i16", TS_GGUF_I16, i16s, 3);
    ts_gguf_set_arr(w, "a.u32", TS_GGUF_U32, u32s, 3);
    ts_gguf_set_arr(w, "a.i32", TS_GGUF_I32, i32s, 3);
    ts_gguf_set_arr(w, "a.u64", TS_GGUF_U64, u64s, 3);
    ts_gguf_set_arr(w, "a.i64", TS_GGUF_I64, i64s, 3);
    ts_gguf_set_arr(w, "a.f32", TS_GGUF_F32, f32s, 4);
    ts_gguf_set_arr(w, "a.f64", TS_GGUF_F64, f64s, 3);
    ts_gguf_set_arr(w, "a.bool", TS_GGUF_BOOL, bools, 4);
    ts_gguf_set_arr_str(w, "a.str", strs, 5);
    ts_gguf_set_arr(w, "a.empty", TS_GGUF_I32, NULL, 0);
    float x[32 * 6];
    for (int i = 0; i < 32 * 6; i++)
        x[i] = (float)i / 4 - 3;
    int64_t dq[2] = {32, 6}, dh[3] = {4, 3, 2}, db[1] = {7}, df[4] = {2, 3, 2, 2};
    check_ok(ts_gguf_add_tensor(w, "blk.0.ffn_up.weight", TS_DTYPE_Q8_0, dq, 2, x), "q");
    check_ok(ts_gguf_add_tensor(w, "blk.0.attn_q.weight", TS_DTYPE_F16, dh, 3, x), "h");
    check_ok(ts_gguf_add_tensor(w, "output_norm.weight", TS_DTYPE_BF16, db, 1, x), "b");
    check_ok(ts_gguf_add_tensor(w, "token_embd.weight", TS_DTYPE_F32, df, 4, x + 5), "f");
    check_ok(ts_gguf_write(w, path), "write");
    ts_gguf_writer_free(w);

    char cmd[1200];
    const char *out_path = tu_path(dir, "out.json");
    snprintf(cmd, sizeof cmd, "node tests/interop/gguf_dump.mjs '%s' > '%s'", path, out_path);
    assert_int_equal(system(cmd), 0);
    size_t jlen;
    char *json = tu_read_file(out_path, &jlen);
    assert_non_null(json);
    ts_json_doc *doc;
    check_ok(ts_json_parse(json, jlen, out_path, &doc), "node's JSON");
    const ts_json *root = ts_json_root(doc);

    ts_gguf *g = open_ok(path);
    size_t len;
    uint8_t *buf = slurp(path, &len);
    ts_gguf *gm; /* the same file from memory, to see offsets */
    check_ok(ts_gguf_open_mem(buf, len, path, &gm), "open_mem");
    assert_true(json_num(ts_json_get(root, "alignment")) == 32);
    /* keys: the same names, in the same order, with the same types and values */
    const ts_json *keys = ts_json_get(root, "keys");
    assert_non_null(keys);
    assert_int_equal(keys->len, (size_t)ts_gguf_n_keys(g));
    for (int64_t i = 0; i < ts_gguf_n_keys(g); i++) {
        const ts_json *k = ts_json_at(keys, (size_t)i);
        const char *name = ts_gguf_key_name(g, i);
        assert_string_equal(json_str(k, "key"), name);
        ts_gguf_type type = ts_gguf_key_type(g, i);
        assert_true(json_num(ts_json_get(k, "type")) == (double)type);
        const ts_json *v = ts_json_get(k, "value");
        assert_non_null(v);
        if (type == TS_GGUF_STRING) {
            const char *s;
            check_ok(ts_gguf_get_str(g, name, &s), name);
            assert_int_equal(v->type, TS_JSON_STRING);
            assert_string_equal(v->str, s);
        } else if (type == TS_GGUF_ARRAY) {
            ts_gguf_type et;
            const void *data;
            size_t n;
            check_ok(ts_gguf_get_arr(g, name, &et, &data, &n), name);
            assert_true(json_num(ts_json_get(k, "subtype")) == (double)et);
            assert_int_equal(v->type, TS_JSON_ARRAY);
            assert_int_equal(v->len, n);
            for (size_t j = 0; j < n; j++) {
                if (et == TS_GGUF_STRING) {
                    const char *s;
                    check_ok(ts_gguf_get_arr_str(g, name, j, &s, NULL), name);
                    assert_string_equal(ts_json_at(v, j)->str, s);
                } else {
                    /* the element through our reader's pointer, in a local
                     * aligned copy */
                    uint64_t elem = 0;
                    size_t es = et == TS_GGUF_U8 || et == TS_GGUF_I8 || et == TS_GGUF_BOOL    ? 1
                                : et == TS_GGUF_U16 || et == TS_GGUF_I16                      ? 2
                                : et == TS_GGUF_U64 || et == TS_GGUF_I64 || et == TS_GGUF_F64 ? 8
                                                                                              : 4;
                    memcpy(&elem, (const uint8_t *)data + j * es, es);
                    check_json_scalar(ts_json_at(v, j), et, &elem);
                }
            }
        } else {
            /* scalar: compare with what we read, through the raw value */
            uint64_t u = 0;
            int64_t s64 = 0;
            double d = 0;
            bool bv;
            if (type == TS_GGUF_F32 || type == TS_GGUF_F64) {
                check_ok(ts_gguf_get_f64(g, name, &d), name);
                if (type == TS_GGUF_F32) {
                    float f = (float)d;
                    check_json_scalar(v, type, &f);
                } else {
                    check_json_scalar(v, type, &d);
                }
            } else if (type == TS_GGUF_BOOL) {
                check_ok(ts_gguf_get_bool(g, name, &bv), name);
                uint8_t b8 = bv;
                check_json_scalar(v, type, &b8);
            } else if (type == TS_GGUF_U64) {
                check_ok(ts_gguf_get_u64(g, name, &u), name);
                check_json_scalar(v, type, &u);
            } else {
                check_ok(ts_gguf_get_i64(g, name, &s64), name);
                char want[32];
                snprintf(want, sizeof want, "%lld", (long long)s64);
                if (v->type == TS_JSON_STRING)
                    assert_string_equal(v->str, want);
                else
                    assert_true(v->number == (double)s64);
            }
        }
    }
    /* tensors: names, shapes, types, and where the data lies */
    const ts_json *tensors = ts_json_get(root, "tensors");
    assert_int_equal(tensors->len, 4);
    double data_offset = json_num(ts_json_get(root, "data_offset"));
    for (int64_t i = 0; i < 4; i++) {
        const ts_json *jt = ts_json_at(tensors, (size_t)i);
        const ts_gguf_tensor *t = ts_gguf_tensor_at(g, i);
        /* what was written */
        static const char *const names[4] = {"blk.0.ffn_up.weight", "blk.0.attn_q.weight",
                                             "output_norm.weight", "token_embd.weight"};
        static const ts_dtype types[4] = {TS_DTYPE_Q8_0, TS_DTYPE_F16, TS_DTYPE_BF16, TS_DTYPE_F32};
        const int64_t *wdims[4] = {dq, dh, db, df};
        static const int wn[4] = {2, 3, 1, 4};
        assert_string_equal(json_str(jt, "name"), names[i]);
        assert_true(json_num(ts_json_get(jt, "dtype")) == (double)types[i]);
        assert_int_equal(ts_json_get(jt, "shape")->len, wn[i]);
        for (int d = 0; d < wn[i]; d++)
            assert_true(json_num(ts_json_at(ts_json_get(jt, "shape"), (size_t)d)) ==
                        (double)wdims[i][d]);
        /* and what our reader sees */
        assert_string_equal(json_str(jt, "name"), t->name);
        assert_true(json_num(ts_json_get(jt, "dtype")) == (double)t->dtype);
        const ts_json *shape = ts_json_get(jt, "shape");
        assert_int_equal(shape->len, (size_t)t->n_dims);
        for (int d = 0; d < t->n_dims; d++)
            assert_true(json_num(ts_json_at(shape, (size_t)d)) == (double)t->dims[d]);
        /* the data where node finds it is where we find it */
        double off = data_offset + json_num(ts_json_get(jt, "offset"));
        const ts_gguf_tensor *tm = ts_gguf_tensor_at(gm, i);
        assert_true(off == (double)((const uint8_t *)tm->data - buf));
        if (tm->dtype == TS_DTYPE_F32) {
            const ts_json *first = ts_json_get(jt, "first");
            assert_int_equal(first->len, 4);
            for (size_t j = 0; j < 4; j++)
                assert_true(json_num(ts_json_at(first, j)) == (double)x[5 + j]);
        }
    }
    ts_gguf_close(g);
    ts_gguf_close(gm);
    ts_json_free(doc);
    free(json);
    free(buf);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_f16_decode_exhaustive),
        cmocka_unit_test(test_f16_encode_rounds_to_nearest_even),
        cmocka_unit_test(test_bf16_round_to_nearest_even),
        cmocka_unit_test(test_all_value_types_round_trip),
        cmocka_unit_test(test_getters_convert_and_refuse),
        cmocka_unit_test(test_setting_a_key_twice_replaces_it),
        cmocka_unit_test(test_many_keys_and_tensors),
        cmocka_unit_test(test_tensors_all_dtypes),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_q8_0_edge_blocks),
        cmocka_unit_test(test_custom_alignment),
        cmocka_unit_test(test_writer_refuses_bad_calls),
        cmocka_unit_test(test_write_is_atomic),
        cmocka_unit_test(test_truncated_at_every_byte),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_bad_tensors),
        cmocka_unit_test(test_open_refuses_non_files),
        cmocka_unit_test(test_fuzz_seeds_are_valid),
        cmocka_unit_test(test_interop_huggingface_gguf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
