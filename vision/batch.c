/* Many images to model inputs at once, spread over a ts_pool. Each item is
 * independent, so the output is the same for any thread count; the first
 * failing item (lowest index) decides the status and the message. */
#include <stdlib.h>
#include <string.h>

#include "vision/vision_internal.h"

typedef struct {
    const uint8_t *const *bufs;
    const size_t *lens;
    const char *const *names;
    int size;
    ts_image_fit fit;
    float *out;
    ts_status *status;
    /* per worker: its first failure (its items come in ascending order) */
    int *fail_index;
    ts_status *fail_status;
    char (*fail_msg)[1024];
} batch_ctx;

static void batch_item(void *vctx, int i, int n, int worker) {
    (void)n;
    batch_ctx *c = vctx;
    size_t per = (size_t)3 * c->size * c->size;
    float *out = c->out + (size_t)i * per;
    ts_status s = ts_image_load_input_mem(c->bufs[i], c->lens[i], c->names ? c->names[i] : NULL,
                                          c->size, c->fit, out);
    if (c->status) c->status[i] = s;
    if (!s) return;
    memset(out, 0, per * sizeof *out); /* a failed item's input is all zeros */
    if (c->fail_index[worker] < 0) {
        c->fail_index[worker] = i;
        c->fail_status[worker] = s;
        snprintf(c->fail_msg[worker], sizeof c->fail_msg[worker], "%s", ts_last_error());
    }
}

ts_status ts_image_load_input_batch(ts_pool *pool, int n, const uint8_t *const *bufs,
                                    const size_t *lens, const char *const *names, int size,
                                    ts_image_fit fit, float *out, ts_status *status) {
    if (n < 0 || (n > 0 && (!bufs || !lens || !out)))
        return ts_fail(TS_ERR_USAGE, "image batch: bad arguments");
    if (size <= 0 || size > 4096)
        return ts_fail(TS_ERR_USAGE, "image batch: model input size %d is not in [1, 4096]", size);
    if (n == 0) return TS_OK;
    int workers = ts_pool_threads(pool);
    batch_ctx c = {bufs, lens, names, size, fit, out, status, NULL, NULL, NULL};
    c.fail_index = malloc(sizeof *c.fail_index * workers);
    c.fail_status = malloc(sizeof *c.fail_status * workers);
    c.fail_msg = malloc(sizeof *c.fail_msg * workers);
    if (!c.fail_index || !c.fail_status || !c.fail_msg) {
        free(c.fail_index), free(c.fail_status), free(c.fail_msg);
        return ts_fail(TS_ERR_NOMEM, "image batch: out of memory");
    }
    for (int w = 0; w < workers; w++)
        c.fail_index[w] = -1;
    ts_pool_run(pool, n, batch_item, &c);
    int first = -1;
    for (int w = 0; w < workers; w++)
        if (c.fail_index[w] >= 0 && (first < 0 || c.fail_index[w] < c.fail_index[first])) first = w;
    ts_status s = TS_OK;
    if (first >= 0) s = ts_fail(c.fail_status[first], "%s", c.fail_msg[first]);
    free(c.fail_index), free(c.fail_status), free(c.fail_msg);
    return s;
}
