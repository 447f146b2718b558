/* Helpers shared by the test suites: temp folders, files, running the
 * tessera binary (found through $TESSERA_BIN, set by `make test`), and a
 * tiny decoder config. */
#ifndef TESSERA_TESTUTIL_H
#define TESSERA_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "tessera/model.h"

/* A fresh temp folder (removed with its files by tu_rmdir). */
char *tu_mkdtemp(void);
void tu_rmdir(char *dir); /* also frees */
/* dir/name in a static rotating buffer (8 slots) */
const char *tu_path(const char *dir, const char *name);
void tu_write_file(const char *path, const void *data, size_t len);
/* Reads a file whole; returns malloc'd bytes (NUL-terminated), sets *len. */
char *tu_read_file(const char *path, size_t *len);

/* Runs `tessera ARGS` with a shell-quoted argument string; captures stdout
 * and stderr (malloc'd, NUL-terminated) and returns the exit code. */
typedef struct {
    int code;
    char *out, *err;
} tu_run_result;
tu_run_result tu_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tu_run_free(tu_run_result *r);
/* Number of lines in s. */
int tu_count_lines(const char *s);
/* A float32 .npy of exactly rows x cols (malloc'd), or NULL: unreadable or
 * another shape. */
float *tu_read_npy_2d(const char *path, int64_t rows, int64_t cols);

/* Path of a file in samples/ (tests run from the repository root). */
const char *tu_sample(const char *name);

/* A decoder small enough for finite differences: vocabulary 11, d_model 8,
 * 2 heads, 2 blocks (the first dense), 4 experts of which 2 active. */
ts_model_config tu_tiny_decoder_config(void);

#endif
