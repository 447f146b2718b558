/* The calling thread's last error message: the one piece of mutable state
 * the library keeps outside the objects it hands out. */
#include "tessera/core.h"

#include <stdio.h>

static _Thread_local char last_error[1024];

ts_status ts_fail(ts_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return code;
}

const char *ts_last_error(void) { return last_error[0] ? last_error : "unknown error"; }

void ts_clear_error(void) { last_error[0] = '\0'; }
