/* Splitting text into words before BPE (the rules are in tessera/text.h).
 * Merges are learned and applied inside words only, so a word boundary is
 * never inside a token. */
#include "tessera/text.h"

enum { C_LETTER, C_DIGIT, C_SYMBOL, C_SPACE, C_NEWLINE };

/* ASCII classes (no locale: the same split on every machine). */
static unsigned char ascii_class(uint8_t c) {
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return C_LETTER;
    if (c >= '0' && c <= '9') return C_DIGIT;
    if (c == '\n') return C_NEWLINE;
    if (c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') return C_SPACE;
    return C_SYMBOL;
}

/* Unicode spaces, punctuation and symbols we do not glue to letters. */
static int cp_is_symbol(uint32_t cp) {
    return (cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
           (cp >= 0x2000 && cp <= 0x2BFF) || (cp >= 0x3000 && cp <= 0x303F) ||
           (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF01 && cp <= 0xFF0F) ||
           (cp >= 0x1F000 && cp <= 0x1FAFF);
}

/* Class and byte length of the character at p (n >= 1 bytes left). An
 * invalid or truncated UTF-8 sequence is one symbol byte. */
static inline int char_class(const uint8_t *p, size_t n, size_t *clen) {
    uint8_t c = p[0];
    if (c < 0x80) {
        *clen = 1;
        return ascii_class(c);
    }
    uint32_t cp;
    size_t k;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4, cp = c & 0x07;
    else {
        *clen = 1;
        return C_SYMBOL;
    }
    if (n < k) {
        *clen = 1;
        return C_SYMBOL;
    }
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *clen = 1;
            return C_SYMBOL;
        }
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((k == 3 && cp < 0x800) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
        *clen = 1;
        return C_SYMBOL;
    }
    *clen = k;
    return cp_is_symbol(cp) ? C_SYMBOL : C_LETTER;
}

/* Length of the run of characters of class cls starting at i. */
static size_t run_end(const uint8_t *t, size_t len, size_t i, int cls) {
    while (i < len) {
        size_t cl;
        if (t[i] < 0x80) {
            if (ascii_class(t[i]) != cls) break;
            i++;
            continue;
        }
        if (char_class(t + i, len - i, &cl) != cls) break;
        i += cl;
    }
    return i;
}

size_t ts_bpe_word_len(const uint8_t *t, size_t len) {
    if (!len) return 0;
    size_t cl;
    int c0 = char_class(t, len, &cl);
    switch (c0) {
    case C_NEWLINE:
        return 1;
    case C_LETTER:
    case C_DIGIT:
    case C_SYMBOL:
        return run_end(t, len, cl, c0);
    default:
        break;
    }
    /* whitespace: " word" and " (" take one space along */
    if (t[0] == ' ' && len > 1) {
        size_t cl1;
        int c1 = char_class(t + 1, len - 1, &cl1);
        if (c1 == C_LETTER || c1 == C_SYMBOL) return run_end(t, len, 1 + cl1, c1);
    }
    size_t k = run_end(t, len, 1, C_SPACE);
    if (k >= 2 && k < len && t[k - 1] == ' ') {
        size_t cl2;
        int c2 = char_class(t + k, len - k, &cl2);
        if (c2 == C_LETTER || c2 == C_SYMBOL) return k - 1;
    }
    return k;
}
