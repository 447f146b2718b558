/* The multiple-choice prompt, shared by training and eval so that the model
 * is scored on exactly the text it was trained on. */
#include "tessera/fusion.h"

#include <stdlib.h>
#include <string.h>

ts_status ts_mc_prompt(const char *question, const char *hint, const char *const *options,
                       int n_options, char **out) {
    *out = NULL;
    if (n_options < 1 || n_options > TS_MC_MAX_OPTIONS)
        return ts_fail(TS_ERR_INPUT, "multiple choice: %d options, want 1 to %d", n_options,
                       TS_MC_MAX_OPTIONS);
    if (!question) question = "";
    bool has_hint = hint && *hint;
    size_t len = strlen(question) + 1;
    if (has_hint) len += strlen("Context: ") + strlen(hint) + 1;
    for (int i = 0; i < n_options; i++) {
        if (!options[i]) return ts_fail(TS_ERR_INPUT, "multiple choice: option %d is missing", i);
        len += 4 + strlen(options[i]) + 1;
    }
    char *s = malloc(len + 1), *o = s;
    if (!s) return ts_fail(TS_ERR_NOMEM, "multiple choice: out of memory");
    size_t l = strlen(question);
    memcpy(o, question, l);
    o += l;
    if (has_hint) {
        memcpy(o, "\nContext: ", 10);
        o += 10;
        l = strlen(hint);
        memcpy(o, hint, l);
        o += l;
    }
    for (int i = 0; i < n_options; i++) {
        *o++ = '\n';
        *o++ = '(';
        *o++ = (char)('A' + i);
        *o++ = ')';
        *o++ = ' ';
        l = strlen(options[i]);
        memcpy(o, options[i], l);
        o += l;
    }
    *o = 0;
    *out = s;
    return TS_OK;
}
