#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_usage(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tessera %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry 'tessera %s --help'.\n", cmd);
    va_end(ap);
    return TS_ERR_USAGE;
}

int cli_fail(ts_status s) {
    if (s == TS_OK) return 0;
    fprintf(stderr, "tessera: %s\n", ts_last_error());
    return (int)s;
}

bool cli_is_help(const char *arg) { return !strcmp(arg, "-h") || !strcmp(arg, "--help"); }

bool cli_parse_long(const char *cmd, const char *flag, const char *val, long min, long max,
                    long *out) {
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < min || v > max) {
        cli_usage(cmd, "%s wants an integer from %ld to %ld, not '%s'", flag, min, max, val);
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_double(const char *cmd, const char *flag, const char *val, double min, double max,
                      double *out) {
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(v) || v < min || v > max) {
        cli_usage(cmd, "%s wants a number from %g to %g, not '%s'", flag, min, max, val);
        return false;
    }
    *out = v;
    return true;
}

const char *cli_value(const char *cmd, int argc, char **argv, int *i) {
    if (*i + 1 >= argc) {
        cli_usage(cmd, "%s needs a value", argv[*i]);
        return NULL;
    }
    return argv[++*i];
}

ts_status cli_model_path(const char **model, char *buf, size_t cap) {
    if (*model) return TS_OK;
    ts_status s = ts_default_model_path(buf, cap);
    if (!s) *model = buf;
    return s;
}
