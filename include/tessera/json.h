/* A small, strict JSON parser (core/json_parse.c): RFC 8259 only — no
 * comments, no trailing commas, no NaN — over a buffer, into a read-only
 * tree that lives in one document.
 *
 *     ts_json_doc *doc;
 *     if (ts_json_parse(buf, len, "bench.json", &doc) != TS_OK)
 *         fprintf(stderr, "%s\n", ts_last_error()); // "bench.json:3:14: expected ',' or '}'"
 *     const ts_json *q = ts_json_get(ts_json_root(doc), "question");
 *     if (q && q->type == TS_JSON_STRING) puts(q->str);
 *     ts_json_free(doc);
 *
 * Strings are decoded (escapes, \u incl. surrogate pairs) into valid UTF-8
 * and NUL-terminated; `len` counts bytes, so a "\u0000" inside is kept.
 * Raw bytes that are not valid UTF-8 and lone surrogates are errors. Nesting
 * is limited (TS_JSON_MAX_DEPTH) so hostile input cannot exhaust the stack;
 * every allocation is bounded by the input's length. */
#ifndef TESSERA_JSON_H
#define TESSERA_JSON_H

#include "tessera/core.h"

#define TS_JSON_MAX_DEPTH 256

typedef enum {
    TS_JSON_NULL = 0,
    TS_JSON_BOOL,
    TS_JSON_NUMBER,
    TS_JSON_STRING,
    TS_JSON_ARRAY,
    TS_JSON_OBJECT,
} ts_json_type;

typedef struct ts_json ts_json;
struct ts_json {
    ts_json_type type;
    bool boolean;            /* BOOL */
    bool integral;           /* NUMBER written without fraction or exponent */
    double number;           /* NUMBER */
    const char *str;         /* STRING: decoded, NUL-terminated */
    size_t len;              /* STRING: bytes; ARRAY/OBJECT: number of elements */
    const ts_json *items;    /* ARRAY/OBJECT: the len elements, in order */
    const char *const *keys; /* OBJECT: the key of each element (NUL-terminated) */
    const size_t *key_lens;  /* OBJECT: byte length of each key */
    int line, col;           /* where the value starts (1-based; col in bytes) */
};

typedef struct ts_json_doc ts_json_doc;

typedef struct {
    int max_depth;  /* 0: TS_JSON_MAX_DEPTH */
    int first_line; /* line number of buf[0] in messages (0: 1) */
} ts_json_options;

/* Parses the whole buffer as one JSON value (a leading UTF-8 BOM is
 * skipped). On failure: TS_ERR_INPUT, "NAME:LINE:COL: problem" (or
 * TS_ERR_NOMEM), and *out is NULL. */
ts_status ts_json_parse(const char *buf, size_t len, const char *name, ts_json_doc **out);
ts_status ts_json_parse_opts(const char *buf, size_t len, const char *name,
                             const ts_json_options *opts, ts_json_doc **out);
const ts_json *ts_json_root(const ts_json_doc *doc);
void ts_json_free(ts_json_doc *doc);

/* Object member by key (the last one if a key repeats), NULL if absent or
 * obj is not an object. */
const ts_json *ts_json_get(const ts_json *obj, const char *key);
/* Array element i, NULL when out of range or not an array. */
const ts_json *ts_json_at(const ts_json *arr, size_t i);
/* True when v is a NUMBER holding an integer that fits in int64. */
bool ts_json_is_int(const ts_json *v, int64_t *out);
const char *ts_json_type_name(ts_json_type t);

#endif
