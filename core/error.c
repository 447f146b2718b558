/* The calling thread's last error message: the one piece of mutable state
 * the library keeps outside the objects it hands out. */
#include "tessera/core.h"

#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024];

ts_status ts_fail(ts_status code, const char *fmt, ...) {
    /* Format into a scratch buffer first: callers may pass ts_last_error()
     * itself as an argument to prefix it with a file name. */
    char msg[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    memcpy(last_error, msg, sizeof msg);
    return code;
}

const char *ts_last_error(void) { return last_error[0] ? last_error : "unknown error"; }

void ts_clear_error(void) { last_error[0] = '\0'; }
