/* Progress lines on stderr: in place on a terminal, throttled plain lines
 * when stderr is a file or a pipe (so logs stay readable). */
#include "tessera/core.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ts_progress_init(ts_progress *p, double interval) {
    memset(p, 0, sizeof *p);
    p->start = ts_now();
    p->last_print = -1e9;
    p->tty = isatty(STDERR_FILENO);
    p->interval = interval > 0 ? interval : (p->tty ? 0.2 : 5.0);
}

static void format_eta(char *buf, size_t n, double seconds) {
    if (seconds < 0 || seconds > 1e8) {
        snprintf(buf, n, "--");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600) snprintf(buf, n, "%ldh%02ldm", s / 3600, (s / 60) % 60);
    else if (s >= 60) snprintf(buf, n, "%ldm%02lds", s / 60, s % 60);
    else snprintf(buf, n, "%lds", s);
}

void ts_progress_update(ts_progress *p, int64_t done, int64_t total, bool force, const char *fmt,
                        ...) {
    double now = ts_now();
    if (!p->seen) p->seen = true, p->first_time = now, p->first_done = done;
    if (!force && now - p->last_print < p->interval) return;
    p->last_print = now;
    double elapsed = now - p->start;
    char eta[32], user[512] = "";
    int64_t run = done - p->first_done; /* "--" until a second update gives a rate */
    format_eta(eta, sizeof eta,
               run > 0 && total > 0 ? (now - p->first_time) * (double)(total - done) / (double)run
                                    : -1);
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(user, sizeof user, fmt, ap);
        va_end(ap);
    }
    char line[700];
    int len;
    if (total > 0)
        len = snprintf(line, sizeof line, "%lld/%lld (%.1f%%) %s%selapsed %.0fs ETA %s",
                       (long long)done, (long long)total, 100.0 * (double)done / (double)total, user,
                       user[0] ? " " : "", elapsed, eta);
    else
        len = snprintf(line, sizeof line, "%lld %s%selapsed %.0fs", (long long)done, user,
                       user[0] ? " " : "", elapsed);
    if (p->tty) {
        int pad = p->last_len > len ? p->last_len - len : 0;
        fprintf(stderr, "\r%s%*s", line, pad, "");
        p->last_len = len;
    } else {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
}

void ts_progress_finish(ts_progress *p) {
    if (p->tty && p->last_len) fputc('\n', stderr);
    p->last_len = 0;
}
