#define _GNU_SOURCE
#include "tests/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *tu_mkdtemp(void) {
    char *t = strdup("/tmp/tessera-test-XXXXXX");
    assert_non_null(mkdtemp(t));
    return t;
}

void tu_rmdir(char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    free(dir);
}

const char *tu_path(const char *dir, const char *name) {
    static char bufs[8][1024];
    static int k;
    char *b = bufs[k++ & 7];
    snprintf(b, 1024, "%s/%s", dir, name);
    return b;
}

void tu_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) b = realloc(b, cap *= 2);
    }
    fclose(f);
    b[n] = 0;
    if (len) *len = n;
    return b;
}

tu_run_result tu_run(const char *fmt, ...) {
    const char *bin = getenv("TESSERA_BIN");
    if (!bin) bin = "build/tessera";
    char args[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    char out[] = "/tmp/tessera-out-XXXXXX", err[] = "/tmp/tessera-err-XXXXXX";
    int fo = mkstemp(out), fe = mkstemp(err);
    close(fo);
    close(fe);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s </dev/null", bin, args, out, err);
    int st = system(cmd);
    tu_run_result r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = tu_read_file(out, NULL);
    r.err = tu_read_file(err, NULL);
    unlink(out);
    unlink(err);
    return r;
}

void tu_run_free(tu_run_result *r) {
    free(r->out);
    free(r->err);
}

int tu_count_lines(const char *s) {
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

const char *tu_sample(const char *name) {
    static char bufs[4][512];
    static int k;
    char *b = bufs[k++ & 3];
    snprintf(b, 512, "samples/%s", name);
    return b;
}

ts_model_config tu_tiny_decoder_config(void) {
    ts_model_config c = ts_model_config_default(11);
    c.d_model = 8, c.n_heads = 2, c.head_dim = 4, c.n_layers = 2, c.n_dense_layers = 1;
    c.ffn_hidden = 12, c.n_experts = 4, c.n_experts_used = 2, c.expert_hidden = 6, c.context = 16;
    return c;
}

float *tu_read_npy_2d(const char *path, int64_t rows, int64_t cols) {
    float *data;
    int64_t shape[2];
    int nd;
    if (ts_npy_read_f32(path, &data, shape, &nd, 2)) return NULL;
    if (nd == 2 && shape[0] == rows && shape[1] == cols) return data;
    free(data);
    return NULL;
}
