/* tessera chat: an interactive prompt over one model. Lines are questions
 * about the media attached so far (/image, /audio; /clear drops them).
 * On a terminal the line is edited in place (arrows, Home/End, Ctrl-A/E/U/K,
 * history); Ctrl-C while an answer streams stops that answer, and at the
 * prompt clears the line; Ctrl-D on an empty line or /quit leaves. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

#define MAX_LINE 4096
#define MAX_HIST 100
#define MAX_MEDIA 16

static void usage(void) {
    printf("usage: tessera chat [-m MODEL] [options]\n\n"
           "An interactive prompt. Each line is a question about the media attached so far:\n"
           "  /image FILE    attach an image        /audio FILE    attach an audio clip\n"
           "  /clear         drop the attached media /quit          leave (or Ctrl-D)\n"
           "Ctrl-C stops the answer being written, not the program.\n\n"
           "  -m FILE        model (default: $TESSERA_MODEL, else models/tessera.gguf\n"
           "                 beside the executable's folder)\n"
           "  -n N           most tokens per answer (default 128)\n"
           "  --temp T       temperature (default 0: greedy); -s N seed\n"
           "  --beam N       greedy answers: the likeliest of a beam search of width N,\n"
           "                 written once the search is over (1-8, default 1: each\n"
           "                 token the likeliest in turn, written as it is made)\n"
           "  --views N      read each image in N views (moved by a pixel each way),\n"
           "                 each clip in up to 4 (delayed by 10-30 ms), and answer\n"
           "                 from them all (1-9, default 9; --views 1 is fastest)\n"
           "  --level-floor P  bring a clip whose peak is below P up to P first (0-1,\n"
           "                 default 0.3, a typical training level; 0: as recorded)\n"
           "  -t N           threads (default: the online CPUs)\n");
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
    (void)sig;
    interrupted = 1;
}

/* ---- a small line editor ------------------------------------------------- */
typedef struct {
    char *hist[MAX_HIST];
    int n_hist;
    bool tty;
    struct termios saved;
} editor;

static void redraw(const char *prompt, const char *buf, int len, int cur) {
    printf("\r%s", prompt);
    fwrite(buf, 1, (size_t)len, stdout);
    printf("\x1b[K");
    if (len > cur) printf("\x1b[%dD", len - cur);
    fflush(stdout);
}

/* Reads one line into buf; returns its length, or -1 at end of input. */
static int read_line(editor *e, const char *prompt, char *buf) {
    if (!e->tty) {
        printf("%s", prompt);
        fflush(stdout);
        for (;;) {
            errno = 0;
            if (fgets(buf, MAX_LINE, stdin)) break;
            if (errno == EINTR && !feof(stdin)) {
                clearerr(stdin);
                continue;
            }
            return -1;
        }
        int n = (int)strcspn(buf, "\r\n");
        buf[n] = 0;
        return n;
    }
    struct termios raw = e->saved;
    raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~(tcflag_t)(IXON | ICRNL);
    raw.c_cc[VMIN] = 1, raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSADRAIN, &raw);
    int len = 0, cur = 0, hi = e->n_hist, ret;
    buf[0] = 0;
    redraw(prompt, buf, len, cur);
    for (;;) {
        unsigned char ch;
        ssize_t r = read(STDIN_FILENO, &ch, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            ret = -1;
            break;
        }
        if (ch == '\r' || ch == '\n') {
            ret = len;
            break;
        } else if (ch == 4) { /* Ctrl-D: leave on an empty line */
            if (len == 0) {
                ret = -1;
                break;
            }
        } else if (ch == 3) { /* Ctrl-C: drop the line */
            printf("^C\r\n");
            len = cur = 0;
            buf[0] = 0;
            redraw(prompt, buf, len, cur);
            continue;
        } else if (ch == 127 || ch == 8) {
            if (cur > 0) {
                memmove(buf + cur - 1, buf + cur, (size_t)(len - cur));
                len--, cur--;
            }
        } else if (ch == 1) {
            cur = 0;
        } else if (ch == 5) {
            cur = len;
        } else if (ch == 21) {
            memmove(buf, buf + cur, (size_t)(len - cur));
            len -= cur, cur = 0;
        } else if (ch == 11) {
            len = cur;
        } else if (ch == 27) {
            unsigned char seq[2];
            if (read(STDIN_FILENO, &seq[0], 1) != 1 || read(STDIN_FILENO, &seq[1], 1) != 1) continue;
            if (seq[0] != '[' && seq[0] != 'O') continue;
            if (seq[1] == 'C' && cur < len) cur++;
            else if (seq[1] == 'D' && cur > 0) cur--;
            else if (seq[1] == 'H') cur = 0;
            else if (seq[1] == 'F') cur = len;
            else if ((seq[1] == 'A' && hi > 0) || (seq[1] == 'B' && hi < e->n_hist)) {
                hi += seq[1] == 'A' ? -1 : 1;
                const char *h = hi < e->n_hist ? e->hist[hi] : "";
                len = cur = (int)strlen(h);
                memcpy(buf, h, (size_t)len);
            }
        } else if (ch >= 32 && len < MAX_LINE - 1) {
            memmove(buf + cur + 1, buf + cur, (size_t)(len - cur));
            buf[cur++] = (char)ch;
            len++;
        }
        buf[len] = 0;
        redraw(prompt, buf, len, cur);
    }
    buf[len > 0 ? len : 0] = 0;
    printf("\r\n");
    fflush(stdout);
    tcsetattr(STDIN_FILENO, TCSADRAIN, &e->saved);
    if (ret > 0) {
        if (e->n_hist == MAX_HIST) {
            free(e->hist[0]);
            memmove(e->hist, e->hist + 1, sizeof *e->hist * (MAX_HIST - 1));
            e->n_hist--;
        }
        char *copy = malloc((size_t)ret + 1);
        if (copy) memcpy(copy, buf, (size_t)ret + 1), e->hist[e->n_hist++] = copy;
    }
    return ret;
}

/* ---- the conversation ------------------------------------------------------ */
typedef struct {
    ts_media media[MAX_MEDIA];
    int n;
} attached;

static void clear_media(attached *a) {
    for (int i = 0; i < a->n; i++)
        free((void *)a->media[i].codes);
    a->n = 0;
}

static bool put_piece(const char *piece, size_t len, void *user) {
    (void)user;
    if (interrupted) return false;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return !interrupted;
}

static void attach(ts_pipeline *p, attached *a, const char *path, ts_media_kind want) {
    if (a->n == MAX_MEDIA) {
        fprintf(stderr, "chat: at most %d media at once (/clear drops them)\n", MAX_MEDIA);
        return;
    }
    ts_media_set ms;
    ts_status s = ts_pipeline_encode_files(p, &path, 1, &ms);
    if (s) {
        fprintf(stderr, "tessera: %s\n", ts_last_error());
        return;
    }
    if (ms.media[0].kind != want) {
        fprintf(stderr, "tessera: %s: not %s\n", path, want == TS_MEDIA_IMAGE ? "an image" : "audio");
        ts_media_set_free(&ms);
        return;
    }
    a->media[a->n++] = ms.media[0];
    ms.media[0].codes = NULL;
    ts_media_set_free(&ms);
    fprintf(stderr, "(%s attached: %d %s in this conversation)\n", path, a->n,
            a->n == 1 ? "medium" : "media");
}

int cmd_chat(int argc, char **argv) {
    const char *model = NULL;
    long threads = 0, n_max = 128, seed = 0, views = TS_DEFAULT_VIEWS;
    long beam = 1; /* answers written token by token unless asked */
    double level_floor = TS_LEVEL_FLOOR;
    double temp = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (cli_is_help(a)) {
            usage();
            return 0;
        } else if (!strcmp(a, "-m") || !strcmp(a, "--model")) {
            if (!(model = cli_value(argv[0], argc, argv, &i))) return 1;
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, 1, 1024, &threads)) return 1;
        } else if (!strcmp(a, "-n")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, 1, 1 << 20, &n_max)) return 1;
        } else if (!strcmp(a, "-s") || !strcmp(a, "--seed")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_long(argv[0], a, v, 0, 1L << 62, &seed)) return 1;
        } else if (!strcmp(a, "--temp")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) || !cli_parse_double(argv[0], a, v, 0, 100, &temp)) return 1;
        } else if (!strcmp(a, "--views")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], a, v, 1, TS_MAX_VIEWS, &views))
                return 1;
        } else if (!strcmp(a, "--level-floor")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_double(argv[0], a, v, 0, 1, &level_floor))
                return 1;
        } else if (!strcmp(a, "--beam")) {
            if (!(v = cli_value(argv[0], argc, argv, &i)) ||
                !cli_parse_long(argv[0], a, v, 1, TS_MAX_BEAM, &beam))
                return 1;
        } else {
            return cli_usage(argv[0], "unknown argument '%s'", a);
        }
    }
    char def[4096];
    ts_status s;
    if ((s = cli_model_path(&model, def, sizeof def))) return cli_fail(s);
    ts_pipeline *p;
    if ((s = ts_pipeline_load(model, TS_PART_ALL, (int)threads, &p))) return cli_fail(s);
    ts_pipeline_set_views(p, (int)views);
    ts_pipeline_set_level_floor(p, (float)level_floor);

    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint; /* no SA_RESTART: a blocking read returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);

    editor e = {.tty = isatty(STDIN_FILENO) != 0};
    if (e.tty && tcgetattr(STDIN_FILENO, &e.saved)) e.tty = false;
    fprintf(stderr, "tessera chat (%s): /image FILE, /audio FILE, /clear, /quit; Ctrl-C stops an answer\n",
            model);
    attached att = {0};
    char *line = malloc(MAX_LINE);
    ts_answer_opts o = ts_answer_default_opts();
    o.max_tokens = (int)n_max;
    o.sampler = (ts_sampler){(float)temp, temp > 0 ? 40 : 0, temp > 0 ? 0.95f : 1.0f, (uint64_t)seed};
    o.beam = (int)beam;
    o.stop = &interrupted; /* Ctrl-C stops a beam search too */
    int turn = 0;
    while (line) {
        interrupted = 0;
        int n = read_line(&e, "> ", line);
        if (n < 0) break;
        char *q = line;
        while (*q == ' ' || *q == '\t')
            q++;
        for (int k = (int)strlen(q); k > 0 && (q[k - 1] == ' ' || q[k - 1] == '\t'); k--)
            q[k - 1] = 0;
        if (!*q) continue;
        if (!strcmp(q, "/quit") || !strcmp(q, "/exit")) break;
        if (!strcmp(q, "/clear")) {
            clear_media(&att);
            fprintf(stderr, "(media cleared)\n");
        } else if (!strncmp(q, "/image ", 7) || !strncmp(q, "/audio ", 7)) {
            const char *f = q + 7;
            while (*f == ' ')
                f++;
            attach(p, &att, f, q[1] == 'i' ? TS_MEDIA_IMAGE : TS_MEDIA_AUDIO);
        } else if (!strcmp(q, "/help")) {
            fprintf(stderr, "/image FILE, /audio FILE, /clear, /quit\n");
        } else if (q[0] == '/') {
            fprintf(stderr, "chat: unknown command '%s' (/image, /audio, /clear, /quit)\n", q);
        } else {
            o.sampler.seed = (uint64_t)seed + (uint64_t)turn++;
            s = ts_pipeline_answer(p, att.media, att.n, q, &o, put_piece, NULL);
            if (interrupted) fprintf(stderr, " [stopped]");
            printf("\n");
            fflush(stdout);
            if (s) fprintf(stderr, "tessera: %s\n", ts_last_error());
        }
    }
    if (e.tty) tcsetattr(STDIN_FILENO, TCSADRAIN, &e.saved);
    for (int i = 0; i < e.n_hist; i++)
        free(e.hist[i]);
    clear_media(&att);
    free(line);
    sigaction(SIGINT, &old, NULL);
    ts_pipeline_free(p);
    return 0;
}
