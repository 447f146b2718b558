/* JSON string output. Bytes that are not valid UTF-8 are written as \u00XX
 * escapes of the byte value, so the output is always valid JSON. */
#include "tessera/core.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t need;
    unsigned min;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) need = 2, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) need = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) need = 4, min = 0x10000;
    else return 0;
    if (n < need) return 0;
    unsigned cp = c & (0x7f >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return need;
}

void ts_json_put_string_n(FILE *fp, const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', fp);
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == '"' || c == '\\') {
            fputc('\\', fp);
            fputc((int)c, fp);
            i++;
        } else if (c == '\n') {
            fputs("\\n", fp), i++;
        } else if (c == '\t') {
            fputs("\\t", fp), i++;
        } else if (c == '\r') {
            fputs("\\r", fp), i++;
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(fp, "\\u%04x", c), i++;
        } else {
            size_t k = utf8_seq_len(s + i, n - i);
            if (k == 0) {
                fprintf(fp, "\\u%04x", c);
                i++;
            } else {
                fwrite(s + i, 1, k, fp);
                i += k;
            }
        }
    }
    fputc('"', fp);
}

void ts_json_put_string(FILE *fp, const char *s) { ts_json_put_string_n(fp, s, strlen(s)); }
