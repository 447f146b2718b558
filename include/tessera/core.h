/* tessera core: status codes, the per-thread error message, threads, RNG,
 * output files written atomically, and the small writers (JSON, .npy). */
#ifndef TESSERA_CORE_H
#define TESSERA_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TS_VERSION "0.1.0"

/* Every library function that can fail returns a ts_status and, on failure,
 * leaves a one-line message in the calling thread's error slot. The values
 * are the process exit codes the CLI uses. */
typedef enum {
    TS_OK = 0,
    TS_ERR_USAGE = 1, /* the caller asked for something meaningless */
    TS_ERR_INPUT = 2, /* bad or unreadable input: file, header, size */
    TS_ERR_NOMEM = 3,
    TS_ERR_IO = 4, /* could not write an output */
    TS_ERR_INTERNAL = 5,
} ts_status;

/* Sets the calling thread's message (printf-style) and returns `code`, so a
 * failure path reads `return ts_fail(TS_ERR_INPUT, "%s: not a PNG", path);`. */
ts_status ts_fail(ts_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *ts_last_error(void);
void ts_clear_error(void);

/* ---- memory ------------------------------------------------------------ */
/* malloc/calloc that return NULL on overflow of n*size as well. */
void *ts_alloc(size_t n, size_t size);
void *ts_calloc(size_t n, size_t size);
/* 64-byte aligned, for float buffers the vector units read. Free with free(). */
float *ts_alloc_floats(size_t n);

/* ---- files ------------------------------------------------------------- */
/* Reads a whole regular file, refusing directories and anything over
 * max_bytes (0 = the default limit, TS_MAX_FILE_BYTES). */
#define TS_MAX_FILE_BYTES ((size_t)1 << 30)
ts_status ts_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len);

/* A read-only mapping of a whole regular file. */
typedef struct {
    const uint8_t *data;
    size_t len;
    void *map_; /* internal */
} ts_mapped_file;
ts_status ts_map_file(const char *path, ts_mapped_file *out);
void ts_unmap_file(ts_mapped_file *f);

/* Output written to PATH.tmp.PID and renamed onto PATH by ts_outfile_commit,
 * so a failed run never leaves a half-written file. */
typedef struct {
    FILE *fp;
    char *path;
    char *tmp_path;
} ts_outfile;
ts_status ts_outfile_open(ts_outfile *o, const char *path);
ts_status ts_outfile_commit(ts_outfile *o); /* fclose + fsync-free rename */
void ts_outfile_abort(ts_outfile *o);       /* close and unlink the temp */

/* The names in folder dir that end in suffix ("": any), hidden ones (a
 * leading '.') left out, sorted by bytes so that every system gives the
 * same order; each name and the array malloc'd. Free them with
 * ts_free_names, after a failure too (*names then holds what was read). */
ts_status ts_list_dir(const char *dir, const char *suffix, char ***names, int *n);
void ts_free_names(char **names, int n);

/* ---- RNG: xoshiro256** seeded by splitmix64; state is plain data so it
 * can be checkpointed. ------------------------------------------------------ */
typedef struct {
    uint64_t s[4];
} ts_rng;
void ts_rng_seed(ts_rng *r, uint64_t seed);
uint64_t ts_rng_u64(ts_rng *r);
float ts_rng_uniform(ts_rng *r);                 /* [0, 1) */
float ts_rng_normal(ts_rng *r);                  /* N(0, 1), Box-Muller */
uint32_t ts_rng_below(ts_rng *r, uint32_t n);    /* [0, n), unbiased */
void ts_rng_shuffle_u32(ts_rng *r, uint32_t *v, size_t n);

/* ---- threads ----------------------------------------------------------- */
/* A fixed pool. ts_pool_run calls fn(ctx, i, n) for every i in [0, n) with
 * i assigned statically to workers (i % n_threads), so the work split — and
 * any per-worker accumulation — is the same on every run with the same
 * thread count. The calling thread is worker 0. */
typedef struct ts_pool ts_pool;
typedef void (*ts_task_fn)(void *ctx, int index, int count, int worker);
ts_pool *ts_pool_new(int n_threads); /* n_threads <= 0: online CPUs */
int ts_pool_threads(const ts_pool *p);
void ts_pool_run(ts_pool *p, int count, ts_task_fn fn, void *ctx);
void ts_pool_free(ts_pool *p);
/* The first of n items that part p of parts takes: part p works on
 * [ts_part_begin(n, p, parts), ts_part_begin(n, p + 1, parts)), a split
 * that depends on the counts only, like the pool's. */
static inline int ts_part_begin(int n, int p, int parts) { return (int)((int64_t)n * p / parts); }
int ts_online_cpus(void);
double ts_now(void); /* monotonic seconds */

/* ---- .npy ---------------------------------------------------------------- */
/* float32, C order, little-endian; written atomically. */
ts_status ts_npy_write_f32(const char *path, const float *data, const int64_t *shape, int ndim);
ts_status ts_npy_read_f32(const char *path, float **data, int64_t *shape, int *ndim, int max_ndim);

/* ---- JSON output --------------------------------------------------------- */
/* Writes a JSON string literal (quotes included), escaping control
 * characters and any byte that is not valid UTF-8 as \u00XX. */
void ts_json_put_string(FILE *fp, const char *s);
void ts_json_put_string_n(FILE *fp, const char *s, size_t n);

/* ---- progress ------------------------------------------------------------ */
/* One status line on stderr: redrawn in place when stderr is a terminal,
 * printed at most every `interval` seconds as plain lines otherwise. The ETA
 * is the rate since the first update times what is left, so a run resumed
 * at step 16,000 of 32,000 counts only its own steps. */
typedef struct {
    double start, last_print, interval;
    double first_time; /* when the first update came, with first_done */
    int64_t first_done;
    bool seen, tty;
    int last_len;
} ts_progress;
void ts_progress_init(ts_progress *p, double interval);
/* done/total drive the ETA; `fmt` adds the caller's fields. Prints only when
 * due unless force. */
void ts_progress_update(ts_progress *p, int64_t done, int64_t total, bool force,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void ts_progress_finish(ts_progress *p);

#endif
