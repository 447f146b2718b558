/* A strict JSON parser (RFC 8259) into a read-only tree.
 *
 * Recursive descent with a depth limit. Finished values are kept on a
 * scratch stack; when an array or object closes, its elements are copied
 * from the stack into the document's arena as one contiguous block, so
 * lookups walk a plain array and the whole tree is freed with the arena.
 * Every byte is checked: raw strings must be valid UTF-8, control
 * characters must be escaped, \u escapes must pair surrogates. */
#include "tessera/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---------------------------------------------------------------- */

typedef struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} block;

struct ts_json_doc {
    block *blocks;
    ts_json root;
};

static void *arena_alloc(ts_json_doc *d, size_t n) {
    n = (n + 15) & ~(size_t)15;
    block *b = d->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        if (cap > SIZE_MAX - sizeof(block)) return NULL;
        block *nb = malloc(sizeof(block) + cap);
        if (!nb) return NULL;
        nb->used = 0;
        nb->cap = cap;
        /* a big one-off block goes behind the current one so the current
         * block's free space stays usable */
        if (b && n > 65536) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            d->blocks = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

/* ---- parser state ----------------------------------------------------------- */

typedef struct {
    const unsigned char *s;
    size_t n, pos;
    int line;          /* current line (1-based, offset by first_line) */
    size_t line_start; /* index of the first byte of the current line */
    int max_depth;
    const char *name;
    ts_json_doc *doc;
    ts_status status;
    /* finished values waiting for their container to close */
    ts_json *vals;
    size_t n_vals, cap_vals;
    const char **keys;
    size_t *key_lens;
    size_t n_keys, cap_keys;
    /* a string being decoded */
    char *sbuf;
    size_t cap_sbuf;
} parser;

static int col_of(const parser *p, size_t pos) {
    /* columns count characters, not bytes: skip UTF-8 continuation bytes */
    int col = 1;
    for (size_t i = p->line_start; i < pos && i < p->n; i++)
        if ((p->s[i] & 0xc0) != 0x80) col++;
    return col;
}

static bool fail_at(parser *p, size_t pos, const char *what) {
    if (p->status == TS_OK)
        p->status = ts_fail(TS_ERR_INPUT, "%s:%d:%d: %s", p->name, p->line, col_of(p, pos), what);
    return false;
}

static bool fail_nomem(parser *p) {
    if (p->status == TS_OK)
        p->status = ts_fail(TS_ERR_NOMEM, "%s: out of memory parsing JSON", p->name);
    return false;
}

static void skip_ws(parser *p) {
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c == '\n') {
            p->pos++;
            p->line++;
            p->line_start = p->pos;
        } else if (c == ' ' || c == '\t' || c == '\r') {
            p->pos++;
        } else {
            break;
        }
    }
}

static bool unexpected(parser *p) {
    if (p->pos >= p->n) return fail_at(p, p->pos, "unexpected end of input");
    unsigned char c = p->s[p->pos];
    char msg[64];
    if (c >= 0x20 && c < 0x7f)
        snprintf(msg, sizeof msg, "unexpected character '%c'", c);
    else
        snprintf(msg, sizeof msg, "unexpected byte 0x%02x", c);
    return fail_at(p, p->pos, msg);
}

static bool push_val(parser *p, const ts_json *v) {
    if (p->n_vals == p->cap_vals) {
        size_t cap = p->cap_vals ? p->cap_vals * 2 : 64;
        ts_json *nv = realloc(p->vals, cap * sizeof *nv);
        if (!nv) return fail_nomem(p);
        p->vals = nv;
        p->cap_vals = cap;
    }
    p->vals[p->n_vals++] = *v;
    return true;
}

static bool push_key(parser *p, const char *k, size_t len) {
    if (p->n_keys == p->cap_keys) {
        size_t cap = p->cap_keys ? p->cap_keys * 2 : 64;
        const char **nk = realloc(p->keys, cap * sizeof *nk);
        if (!nk) return fail_nomem(p);
        p->keys = nk;
        size_t *nl = realloc(p->key_lens, cap * sizeof *nl);
        if (!nl) return fail_nomem(p);
        p->key_lens = nl;
        p->cap_keys = cap;
    }
    p->keys[p->n_keys] = k;
    p->key_lens[p->n_keys++] = len;
    return true;
}

/* ---- strings ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (2..4 for a lead byte >= 0x80),
 * or 0 if invalid (overlong, surrogate, over U+10FFFF, truncated). */
static size_t utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t need;
    unsigned min;
    if (c >= 0xc2 && c <= 0xdf)
        need = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        need = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 4, min = 0x10000;
    else
        return 0;
    if (n < need) return 0;
    unsigned cp = c & (0x7f >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return need;
}

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads 4 hex digits at pos; -1 if they are not there. */
static long hex4(const parser *p, size_t pos) {
    if (pos > p->n || p->n - pos < 4) return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[pos + (size_t)i]);
        if (h < 0) return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned long cp) {
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* At an opening quote: decodes the string into the arena. The decoded text
 * is never longer than its source, so the scratch buffer is sized by the
 * source span once the closing quote is found. */
static bool parse_string(parser *p, const char **out, size_t *out_len) {
    size_t start = p->pos++; /* the quote */
    size_t end = p->pos;
    /* find the closing quote (skipping escaped characters) to size the buffer */
    while (end < p->n && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n) return fail_at(p, start, "unterminated string");
    size_t need = end - p->pos + 1;
    if (need > p->cap_sbuf) {
        char *nb = realloc(p->sbuf, need);
        if (!nb) return fail_nomem(p);
        p->sbuf = nb;
        p->cap_sbuf = need;
    }
    char *o = p->sbuf;
    size_t k = 0;
    while (p->pos < end) {
        unsigned char c = p->s[p->pos];
        if (c == '\\') {
            unsigned char e = p->s[p->pos + 1];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char map[] = "\"\\/\b\f\n\r\t";
                o[k++] = map[simple - "\"\\/bfnrt"];
                p->pos += 2;
            } else if (e == 'u') {
                long cp = hex4(p, p->pos + 2);
                if (cp < 0) return fail_at(p, p->pos, "\\u needs 4 hex digits");
                size_t esc = p->pos;
                p->pos += 6;
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return fail_at(p, esc, "lone low surrogate in \\u escape");
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    long lo = -1;
                    if (p->pos + 1 < p->n && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u')
                        lo = hex4(p, p->pos + 2);
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return fail_at(p, esc, "high surrogate in \\u escape without a low one");
                    p->pos += 6;
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                k += put_utf8(o + k, (unsigned long)cp);
            } else {
                return fail_at(p, p->pos, "invalid escape in string");
            }
        } else if (c < 0x20) {
            return fail_at(p, p->pos, "control character in string (must be escaped)");
        } else if (c < 0x80) {
            o[k++] = (char)c;
            p->pos++;
        } else {
            size_t u = utf8_len(p->s + p->pos, end - p->pos);
            if (!u) return fail_at(p, p->pos, "invalid UTF-8 in string");
            memcpy(o + k, p->s + p->pos, u);
            k += u;
            p->pos += u;
        }
    }
    p->pos = end + 1;
    char *dst = arena_alloc(p->doc, k + 1);
    if (!dst) return fail_nomem(p);
    memcpy(dst, o, k);
    dst[k] = '\0';
    *out = dst;
    *out_len = k;
    return true;
}

/* ---- numbers and literals ------------------------------------------------------ */

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static bool parse_number(parser *p, ts_json *v) {
    size_t start = p->pos, i = p->pos;
    bool integral = true;
    if (i < p->n && p->s[i] == '-') i++;
    if (i >= p->n || !is_digit(p->s[i])) return fail_at(p, start, "invalid number");
    if (p->s[i] == '0') {
        i++;
        if (i < p->n && is_digit(p->s[i])) return fail_at(p, start, "number with a leading zero");
    } else {
        while (i < p->n && is_digit(p->s[i]))
            i++;
    }
    if (i < p->n && p->s[i] == '.') {
        integral = false;
        i++;
        if (i >= p->n || !is_digit(p->s[i])) return fail_at(p, i, "digits expected after '.'");
        while (i < p->n && is_digit(p->s[i]))
            i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integral = false;
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->n || !is_digit(p->s[i])) return fail_at(p, i, "digits expected in exponent");
        while (i < p->n && is_digit(p->s[i]))
            i++;
    }
    size_t len = i - start;
    /* strtod needs a terminated copy; the grammar above already holds */
    if (len + 1 > p->cap_sbuf) {
        char *nb = realloc(p->sbuf, len + 1);
        if (!nb) return fail_nomem(p);
        p->sbuf = nb;
        p->cap_sbuf = len + 1;
    }
    memcpy(p->sbuf, p->s + start, len);
    p->sbuf[len] = '\0';
    errno = 0;
    double d = strtod(p->sbuf, NULL);
    if (!isfinite(d)) return fail_at(p, start, "number out of range");
    v->type = TS_JSON_NUMBER;
    v->number = d;
    v->integral = integral;
    p->pos = i;
    return true;
}

static bool parse_literal(parser *p, ts_json *v) {
    static const struct {
        const char *word;
        ts_json_type type;
        bool value;
    } lits[] = {{"true", TS_JSON_BOOL, true},
                {"false", TS_JSON_BOOL, false},
                {"null", TS_JSON_NULL, false}};
    for (size_t j = 0; j < 3; j++) {
        size_t wl = strlen(lits[j].word);
        if (p->n - p->pos >= wl && !memcmp(p->s + p->pos, lits[j].word, wl)) {
            size_t after = p->pos + wl;
            /* "trueX" is not "true" followed by garbage we report later:
             * name the whole word */
            if (after < p->n &&
                ((p->s[after] >= 'a' && p->s[after] <= 'z') ||
                 (p->s[after] >= 'A' && p->s[after] <= 'Z') || is_digit(p->s[after])))
                break;
            v->type = lits[j].type;
            v->boolean = lits[j].value;
            p->pos = after;
            return true;
        }
    }
    return fail_at(p, p->pos, "invalid literal (expected true, false or null)");
}

/* ---- values -------------------------------------------------------------------- */

static bool parse_value(parser *p, ts_json *v, int depth);

static bool parse_array(parser *p, ts_json *v, int depth) {
    size_t base = p->n_vals;
    p->pos++; /* [ */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
    } else {
        for (;;) {
            ts_json item;
            if (!parse_value(p, &item, depth + 1) || !push_val(p, &item)) return false;
            skip_ws(p);
            if (p->pos < p->n && p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->n && p->s[p->pos] == ']') {
                p->pos++;
                break;
            }
            return p->pos >= p->n ? fail_at(p, p->pos, "unexpected end of input in array")
                                  : fail_at(p, p->pos, "expected ',' or ']'");
        }
    }
    size_t n = p->n_vals - base;
    v->type = TS_JSON_ARRAY;
    v->len = n;
    if (n) {
        ts_json *items = arena_alloc(p->doc, n * sizeof *items);
        if (!items) return fail_nomem(p);
        memcpy(items, p->vals + base, n * sizeof *items);
        v->items = items;
    }
    p->n_vals = base;
    return true;
}

static bool parse_object(parser *p, ts_json *v, int depth) {
    size_t vbase = p->n_vals, kbase = p->n_keys;
    p->pos++; /* { */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
    } else {
        for (;;) {
            skip_ws(p);
            if (p->pos >= p->n) return fail_at(p, p->pos, "unexpected end of input in object");
            if (p->s[p->pos] != '"') return fail_at(p, p->pos, "expected a string key");
            const char *key;
            size_t klen;
            if (!parse_string(p, &key, &klen)) return false;
            skip_ws(p);
            if (p->pos >= p->n || p->s[p->pos] != ':')
                return fail_at(p, p->pos, "expected ':' after key");
            p->pos++;
            ts_json item;
            if (!parse_value(p, &item, depth + 1) || !push_key(p, key, klen) || !push_val(p, &item))
                return false;
            skip_ws(p);
            if (p->pos < p->n && p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->pos < p->n && p->s[p->pos] == '}') {
                p->pos++;
                break;
            }
            return p->pos >= p->n ? fail_at(p, p->pos, "unexpected end of input in object")
                                  : fail_at(p, p->pos, "expected ',' or '}'");
        }
    }
    size_t n = p->n_vals - vbase;
    v->type = TS_JSON_OBJECT;
    v->len = n;
    if (n) {
        ts_json *items = arena_alloc(p->doc, n * sizeof *items);
        const char **keys = arena_alloc(p->doc, n * sizeof *keys);
        size_t *lens = arena_alloc(p->doc, n * sizeof *lens);
        if (!items || !keys || !lens) return fail_nomem(p);
        memcpy(items, p->vals + vbase, n * sizeof *items);
        memcpy(keys, p->keys + kbase, n * sizeof *keys);
        memcpy(lens, p->key_lens + kbase, n * sizeof *lens);
        v->items = items;
        v->keys = keys;
        v->key_lens = lens;
    }
    p->n_vals = vbase;
    p->n_keys = kbase;
    return true;
}

static bool parse_value(parser *p, ts_json *v, int depth) {
    memset(v, 0, sizeof *v);
    skip_ws(p);
    v->line = p->line;
    v->col = (int)(p->pos - p->line_start) + 1; /* bytes: O(1) per value */
    if (p->pos >= p->n) return unexpected(p);
    unsigned char c = p->s[p->pos];
    if (c == '{' || c == '[') {
        if (depth >= p->max_depth) {
            char msg[64];
            snprintf(msg, sizeof msg, "nesting deeper than %d levels", p->max_depth);
            return fail_at(p, p->pos, msg);
        }
        return c == '{' ? parse_object(p, v, depth) : parse_array(p, v, depth);
    }
    if (c == '"') {
        v->type = TS_JSON_STRING;
        return parse_string(p, &v->str, &v->len);
    }
    if (c == '-' || is_digit(c)) return parse_number(p, v);
    if (c == 't' || c == 'f' || c == 'n') return parse_literal(p, v);
    return unexpected(p);
}

/* ---- public -------------------------------------------------------------------- */

ts_status ts_json_parse_opts(const char *buf, size_t len, const char *name,
                             const ts_json_options *opts, ts_json_doc **out) {
    *out = NULL;
    ts_json_doc *doc = calloc(1, sizeof *doc);
    if (!doc) return ts_fail(TS_ERR_NOMEM, "%s: out of memory parsing JSON", name ? name : "JSON");
    parser p = {
        .s = (const unsigned char *)buf,
        .n = buf ? len : 0,
        .line = opts && opts->first_line > 0 ? opts->first_line : 1,
        .max_depth = opts && opts->max_depth > 0 ? opts->max_depth : TS_JSON_MAX_DEPTH,
        .name = name ? name : "JSON",
        .doc = doc,
    };
    if (p.n >= 3 && !memcmp(p.s, "\xef\xbb\xbf", 3)) p.pos = p.line_start = 3;
    skip_ws(&p);
    bool ok;
    if (p.pos >= p.n)
        ok = fail_at(&p, p.pos, "empty input: no JSON value");
    else
        ok = parse_value(&p, &doc->root, 0);
    if (ok) {
        skip_ws(&p);
        if (p.pos < p.n) ok = fail_at(&p, p.pos, "unexpected data after the JSON value");
    }
    free(p.vals);
    free(p.keys);
    free(p.key_lens);
    free(p.sbuf);
    if (!ok) {
        ts_json_free(doc);
        return p.status;
    }
    *out = doc;
    return TS_OK;
}

ts_status ts_json_parse(const char *buf, size_t len, const char *name, ts_json_doc **out) {
    return ts_json_parse_opts(buf, len, name, NULL, out);
}

const ts_json *ts_json_root(const ts_json_doc *doc) { return doc ? &doc->root : NULL; }

void ts_json_free(ts_json_doc *doc) {
    if (!doc) return;
    block *b = doc->blocks;
    while (b) {
        block *next = b->next;
        free(b);
        b = next;
    }
    free(doc);
}

const ts_json *ts_json_get(const ts_json *obj, const char *key) {
    if (!obj || obj->type != TS_JSON_OBJECT || !key) return NULL;
    size_t kl = strlen(key);
    for (size_t i = obj->len; i-- > 0;)
        if (obj->key_lens[i] == kl && !memcmp(obj->keys[i], key, kl)) return &obj->items[i];
    return NULL;
}

const ts_json *ts_json_at(const ts_json *arr, size_t i) {
    if (!arr || arr->type != TS_JSON_ARRAY || i >= arr->len) return NULL;
    return &arr->items[i];
}

bool ts_json_is_int(const ts_json *v, int64_t *out) {
    if (!v || v->type != TS_JSON_NUMBER) return false;
    double d = v->number;
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != floor(d)) return false;
    if (out) *out = (int64_t)d;
    return true;
}

const char *ts_json_type_name(ts_json_type t) {
    switch (t) {
    case TS_JSON_NULL:
        return "null";
    case TS_JSON_BOOL:
        return "boolean";
    case TS_JSON_NUMBER:
        return "number";
    case TS_JSON_STRING:
        return "string";
    case TS_JSON_ARRAY:
        return "array";
    case TS_JSON_OBJECT:
        return "object";
    }
    return "?";
}
