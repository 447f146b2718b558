/* core/json_parse.c: the strict JSON parser — valid documents, every kind
 * of invalid one with its line:column, escapes, UTF-8, depth. */
#include "tessera.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ts_json_doc *parse_ok(const char *s) {
    ts_json_doc *d = NULL;
    ts_status st = ts_json_parse(s, strlen(s), "t.json", &d);
    if (st != TS_OK) fail_msg("parse failed for %s: %s", s, ts_last_error());
    assert_non_null(d);
    return d;
}

/* Parses s, expects failure, and checks the message contains `want`. */
static void parse_bad(const char *s, size_t len, const char *want) {
    ts_json_doc *d = (ts_json_doc *)1;
    ts_status st = ts_json_parse(s, len, "t.json", &d);
    if (st != TS_ERR_INPUT) fail_msg("expected failure for '%.*s'", (int)len, s);
    assert_null(d);
    if (!strstr(ts_last_error(), want))
        fail_msg("message '%s' lacks '%s' (input '%.*s')", ts_last_error(), want, (int)len, s);
}
#define BAD(s, want) parse_bad(s, sizeof(s) - 1, want)

static void test_scalars(void **state) {
    ts_json_doc *d = parse_ok("  42 ");
    const ts_json *r = ts_json_root(d);
    assert_int_equal(r->type, TS_JSON_NUMBER);
    assert_true(r->number == 42.0 && r->integral);
    int64_t i;
    assert_true(ts_json_is_int(r, &i) && i == 42);
    ts_json_free(d);

    d = parse_ok("-0.5e-3");
    r = ts_json_root(d);
    assert_true(fabs(r->number + 0.0005) < 1e-15 && !r->integral);
    assert_false(ts_json_is_int(r, &i));
    ts_json_free(d);

    d = parse_ok("1E2"); /* integer value written with an exponent */
    assert_true(ts_json_is_int(ts_json_root(d), &i) && i == 100);
    ts_json_free(d);

    const char *lits[] = {"true", "false", "null"};
    ts_json_type types[] = {TS_JSON_BOOL, TS_JSON_BOOL, TS_JSON_NULL};
    for (int k = 0; k < 3; k++) {
        d = parse_ok(lits[k]);
        assert_int_equal(ts_json_root(d)->type, types[k]);
        assert_int_equal(ts_json_root(d)->boolean, k == 0);
        ts_json_free(d);
    }
    d = parse_ok("\"\"");
    assert_int_equal(ts_json_root(d)->type, TS_JSON_STRING);
    assert_int_equal(ts_json_root(d)->len, 0);
    assert_string_equal(ts_json_root(d)->str, "");
    ts_json_free(d);
}

static void test_containers_and_lookup(void **state) {
    const char *s = "{\"a\": [1, 2, {\"b\": null}], \"c\": {}, \"d\": [], \"a2\": \"x\", \"c\": 7}";
    ts_json_doc *d = parse_ok(s);
    const ts_json *r = ts_json_root(d);
    assert_int_equal(r->type, TS_JSON_OBJECT);
    assert_int_equal(r->len, 5);
    assert_string_equal(r->keys[0], "a");
    assert_string_equal(r->keys[3], "a2");
    const ts_json *a = ts_json_get(r, "a");
    assert_int_equal(a->type, TS_JSON_ARRAY);
    assert_int_equal(a->len, 3);
    assert_true(ts_json_at(a, 1)->number == 2.0);
    assert_null(ts_json_at(a, 3));
    const ts_json *b = ts_json_get(ts_json_at(a, 2), "b");
    assert_non_null(b);
    assert_int_equal(b->type, TS_JSON_NULL);
    /* a repeated key: the last one wins, as in JavaScript and Python */
    assert_true(ts_json_get(r, "c")->number == 7.0);
    assert_int_equal(ts_json_get(r, "d")->len, 0);
    assert_null(ts_json_get(r, "zz"));
    assert_null(ts_json_get(a, "a")); /* not an object */
    assert_null(ts_json_at(r, 0));    /* not an array */
    ts_json_free(d);
}

static void test_positions(void **state) {
    ts_json_doc *d = parse_ok("{\n  \"k\": [\n    true,\n   \"v\"]\n}");
    const ts_json *k = ts_json_get(ts_json_root(d), "k");
    assert_int_equal(k->line, 2);
    assert_int_equal(k->col, 8);
    assert_int_equal(ts_json_at(k, 1)->line, 4);
    assert_int_equal(ts_json_at(k, 1)->col, 4);
    ts_json_free(d);
    /* first_line shifts lines, for a line of a JSONL file */
    ts_json_options o = {.first_line = 10};
    assert_int_equal(ts_json_parse_opts("[1,", 3, "b.jsonl", &o, &d), TS_ERR_INPUT);
    assert_string_equal(ts_last_error(), "b.jsonl:10:4: unexpected end of input");
}

static void test_string_escapes_and_utf8(void **state) {
    ts_json_doc *d =
        parse_ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u0041\\u00e9\\u20ac\\ud83d\\ude00\"");
    const ts_json *r = ts_json_root(d);
    const char want[] = "a\"b\\c/d\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
    assert_int_equal(r->len, sizeof want - 1);
    assert_memory_equal(r->str, want, sizeof want);
    ts_json_free(d);

    /* \u0000 is kept: len counts it, the string stays terminated */
    d = parse_ok("\"x\\u0000y\"");
    assert_int_equal(ts_json_root(d)->len, 3);
    assert_memory_equal(ts_json_root(d)->str, "x\0y", 4);
    ts_json_free(d);

    /* raw UTF-8 passes through; a BOM at the start is skipped */
    d = parse_ok("\xef\xbb\xbf[\"caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x8e\x89\"]");
    assert_string_equal(ts_json_at(ts_json_root(d), 0)->str,
                        "caf\xc3\xa9 \xe4\xb8\xad \xf0\x9f\x8e\x89");
    ts_json_free(d);

    /* keys are decoded too */
    d = parse_ok("{\"\\u006b\\u0065y\": 1}");
    assert_non_null(ts_json_get(ts_json_root(d), "key"));
    ts_json_free(d);
}

static void test_invalid_documents(void **state) {
    BAD("", "t.json:1:1: empty input");
    BAD("   \n  ", "t.json:2:3: empty input");
    BAD("[1, 2", "1:6: unexpected end of input in array");
    BAD("[1 2]", "1:4: expected ',' or ']'");
    BAD("[1,]", "1:4: unexpected character ']'");
    BAD("{\"a\":1,}", "1:8: expected a string key");
    BAD("{\"a\" 1}", "1:6: expected ':' after key");
    BAD("{\"a\":1 \"b\":2}", "1:8: expected ',' or '}'");
    BAD("{a:1}", "1:2: expected a string key");
    BAD("{\"a\":1", "unexpected end of input in object");
    BAD("[1]]", "1:4: unexpected data after the JSON value");
    BAD("{} {}", "1:4: unexpected data");
    BAD("tru", "invalid literal");
    BAD("truex", "invalid literal");
    BAD("nul", "invalid literal");
    BAD("NaN", "unexpected character 'N'");
    BAD("Infinity", "unexpected character 'I'");
    BAD("// c\n1", "unexpected character '/'");
    BAD("'a'", "unexpected character '''");
    BAD("01", "leading zero");
    BAD("-", "invalid number");
    BAD("-a", "invalid number");
    BAD("1.", "digits expected after '.'");
    BAD(".5", "unexpected character '.'");
    BAD("1e", "digits expected in exponent");
    BAD("1e+", "digits expected in exponent");
    BAD("+1", "unexpected character '+'");
    BAD("1e400", "number out of range");
    BAD("0x10", "unexpected data");
    BAD("\"abc", "1:1: unterminated string");
    BAD("\"ab\\", "unterminated string");
    BAD("\"a\\x\"", "1:3: invalid escape");
    BAD("\"a\\u12\"", "\\u needs 4 hex digits");
    BAD("\"a\\u12G4\"", "\\u needs 4 hex digits");
    BAD("\"\\ud83d\"", "high surrogate");
    BAD("\"\\ud83dx\"", "high surrogate");
    BAD("\"\\ud83d\\u0041\"", "high surrogate");
    BAD("\"\\ude00\"", "lone low surrogate");
    BAD("\"a\tb\"", "control character");
    BAD("\"a\nb\"", "control character");
    BAD("\"\xff\"", "invalid UTF-8");
    BAD("\"\xc0\xaf\"", "invalid UTF-8");         /* overlong '/' */
    BAD("\"\xed\xa0\x80\"", "invalid UTF-8");     /* encoded surrogate */
    BAD("\"\xf4\x90\x80\x80\"", "invalid UTF-8"); /* over U+10FFFF */
    BAD("\"\xe2\x82\"", "invalid UTF-8");         /* truncated */
    BAD("\x01", "unexpected byte 0x01");
    BAD("[\"a\",\n  \"b\",\n  x]", "t.json:3:3: unexpected character 'x'");
    /* columns count characters, not bytes */
    BAD("[\"\xc3\xa9\xc3\xa9\" x]", "1:7: expected ',' or ']'");
    /* an embedded NUL is just a bad byte, not the end of the input */
    parse_bad("[1,\0 2]", 7, "1:4: unexpected byte 0x00");
}

static void test_depth_limit(void **state) {
    enum { N = 5000 };
    char *s = malloc(2 * N + 1);
    for (int i = 0; i < N; i++)
        s[i] = '[', s[2 * N - 1 - i] = ']';
    s[2 * N] = '\0';
    ts_json_doc *d;
    assert_int_equal(ts_json_parse(s, 2 * N, "deep.json", &d), TS_ERR_INPUT);
    assert_non_null(strstr(ts_last_error(), "nesting deeper than 256 levels"));
    assert_non_null(strstr(ts_last_error(), "deep.json:1:257:"));
    /* exactly the limit parses */
    char *ok = s + N - TS_JSON_MAX_DEPTH;
    assert_int_equal(ts_json_parse(ok, 2 * TS_JSON_MAX_DEPTH, "d.json", &d), TS_OK);
    const ts_json *v = ts_json_root(d);
    int depth = 0;
    while (v->type == TS_JSON_ARRAY && v->len)
        v = ts_json_at(v, 0), depth++;
    assert_int_equal(depth, TS_JSON_MAX_DEPTH - 1);
    ts_json_free(d);
    /* a custom limit */
    ts_json_options o = {.max_depth = 3};
    assert_int_equal(ts_json_parse_opts("[[[1]]]", 7, "x", &o, &d), TS_OK);
    ts_json_free(d);
    assert_int_equal(ts_json_parse_opts("[[[[1]]]]", 9, "x", &o, &d), TS_ERR_INPUT);
    free(s);
}

static void test_large_array_and_roundtrip(void **state) {
    /* many values (several arena blocks) and long strings parse, and a string
     * written by ts_json_put_string_n reads back byte for byte */
    enum { N = 20000 };
    size_t cap = (size_t)N * 12 + 16;
    char *s = malloc(cap);
    size_t k = 0;
    s[k++] = '[';
    for (int i = 0; i < N; i++)
        k += (size_t)snprintf(s + k, cap - k, "%s%d", i ? "," : "", i * 3 - 7);
    s[k++] = ']';
    ts_json_doc *d;
    assert_int_equal(ts_json_parse(s, k, "big", &d), TS_OK);
    const ts_json *r = ts_json_root(d);
    assert_int_equal(r->len, N);
    for (int i = 0; i < N; i++)
        assert_true(ts_json_at(r, (size_t)i)->number == i * 3 - 7);
    ts_json_free(d);
    free(s);

    char raw[300];
    for (int i = 0; i < 256; i++)
        raw[i] = (char)(i + 1); /* every byte but NUL... */
    raw[255] = 0;               /* ...and NUL itself */
    memcpy(raw + 256, "\xe2\x82\xac\xf0\x9f\x98\x80", 7);
    size_t rn = 263;
    char *buf;
    size_t blen;
    FILE *fp = open_memstream(&buf, &blen);
    ts_json_put_string_n(fp, raw, rn);
    fclose(fp);
    assert_int_equal(ts_json_parse(buf, blen, "rt", &d), TS_OK);
    r = ts_json_root(d);
    /* ASCII, NUL and valid UTF-8 come back exactly; a stray byte >= 0x80 was
     * written as \u00XX, so it comes back as that code point in UTF-8 */
    for (size_t i = 0; i < 127; i++)
        assert_int_equal((unsigned char)r->str[i], (unsigned char)raw[i]);
    assert_memory_equal(r->str + r->len - 7, raw + 256, 7);
    ts_json_free(d);
    free(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_containers_and_lookup),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_string_escapes_and_utf8),
        cmocka_unit_test(test_invalid_documents),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_large_array_and_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
