/* libFuzzer target for the JSON parser (core/json_parse.c). Any input either
 * fails with a message or gives a tree in which every string is valid,
 * terminated UTF-8 of the stated length, every key is found by ts_json_get,
 * and which, written back out, parses again to the same tree. */
#include "tessera.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool valid_utf8(const unsigned char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80                   ? 1
                   : (c >= 0xc2 && c <= 0xdf) ? 2
                   : (c >= 0xe0 && c <= 0xef) ? 3
                   : (c >= 0xf0 && c <= 0xf4) ? 4
                                              : 0;
        if (!k || i + k > n) return false;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xc0) != 0x80) return false;
        i += k;
    }
    return true;
}

static void check_string(const char *s, size_t len) {
    if (!s || s[len] != '\0' || !valid_utf8((const unsigned char *)s, len)) abort();
}

static void check(const ts_json *v, int depth) {
    if (depth > TS_JSON_MAX_DEPTH) abort();
    switch (v->type) {
    case TS_JSON_STRING:
        check_string(v->str, v->len);
        break;
    case TS_JSON_NUMBER:
        if (!isfinite(v->number)) abort();
        break;
    case TS_JSON_ARRAY:
        for (size_t i = 0; i < v->len; i++)
            check(ts_json_at(v, i), depth + 1);
        if (ts_json_at(v, v->len)) abort();
        break;
    case TS_JSON_OBJECT:
        for (size_t i = 0; i < v->len; i++) {
            check_string(v->keys[i], v->key_lens[i]);
            check(&v->items[i], depth + 1);
            /* keys with an embedded NUL cannot be asked for by C string */
            if (strlen(v->keys[i]) == v->key_lens[i] && !ts_json_get(v, v->keys[i])) abort();
        }
        break;
    default:
        break;
    }
}

static void write_json(FILE *fp, const ts_json *v) {
    switch (v->type) {
    case TS_JSON_NULL:
        fputs("null", fp);
        break;
    case TS_JSON_BOOL:
        fputs(v->boolean ? "true" : "false", fp);
        break;
    case TS_JSON_NUMBER:
        fprintf(fp, "%.17g", v->number);
        break;
    case TS_JSON_STRING:
        ts_json_put_string_n(fp, v->str, v->len);
        break;
    case TS_JSON_ARRAY:
        fputc('[', fp);
        for (size_t i = 0; i < v->len; i++) {
            if (i) fputc(',', fp);
            write_json(fp, &v->items[i]);
        }
        fputc(']', fp);
        break;
    case TS_JSON_OBJECT:
        fputc('{', fp);
        for (size_t i = 0; i < v->len; i++) {
            if (i) fputc(',', fp);
            ts_json_put_string_n(fp, v->keys[i], v->key_lens[i]);
            fputc(':', fp);
            write_json(fp, &v->items[i]);
        }
        fputc('}', fp);
        break;
    }
}

static void same(const ts_json *a, const ts_json *b) {
    if (a->type != b->type || a->len != b->len) abort();
    switch (a->type) {
    case TS_JSON_BOOL:
        if (a->boolean != b->boolean) abort();
        break;
    case TS_JSON_NUMBER:
        if (a->number != b->number) abort();
        break;
    case TS_JSON_STRING:
        if (memcmp(a->str, b->str, a->len)) abort();
        break;
    case TS_JSON_ARRAY:
    case TS_JSON_OBJECT:
        for (size_t i = 0; i < a->len; i++) {
            if (a->type == TS_JSON_OBJECT && (a->key_lens[i] != b->key_lens[i] ||
                                              memcmp(a->keys[i], b->keys[i], a->key_lens[i])))
                abort();
            same(&a->items[i], &b->items[i]);
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ts_json_doc *doc;
    ts_status s = ts_json_parse((const char *)data, size, "fuzz.json", &doc);
    if (s) {
        if (doc || strncmp(ts_last_error(), "fuzz.json", 9)) abort();
        return 0;
    }
    const ts_json *root = ts_json_root(doc);
    check(root, 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    write_json(fp, root);
    fclose(fp);
    ts_json_doc *again;
    if (ts_json_parse(buf, len, "again", &again)) abort();
    same(root, ts_json_root(again));
    ts_json_free(again);
    free(buf);
    ts_json_free(doc);
    return 0;
}
