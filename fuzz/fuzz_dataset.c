/* libFuzzer target for the data-set containers the VQ-VAE trainer reads:
 * the ustar reader (core/tar.c) and the MNIST idx(.gz) reader
 * (vision/mnist.c). Every member a successful ts_tar_next returns must lie
 * inside the buffer, and an accepted MNIST file must hold exactly
 * count x rows x cols pixels. */
#include "tessera.h"

#include <stdlib.h>
#include <string.h>

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ts_tar t;
    ts_tar_init(&t, data, size, "fuzz.tar");
    (void)ts_tar_sniff(data, size);
    for (int i = 0; i < 100000; i++) {
        ts_tar_member m;
        bool done;
        if (ts_tar_next(&t, &m, &done) != TS_OK || done) break;
        if (m.data < data || m.size > size || (size_t)(m.data - data) > size - m.size) abort();
        if (strlen(m.name) >= sizeof m.name) abort();
        if (m.size) sink ^= m.data[m.size - 1];
    }
    (void)ts_mnist_sniff(data, size);
    uint8_t *px;
    int count, rows, cols;
    if (ts_mnist_read_mem(data, size, "fuzz.idx", &px, &count, &rows, &cols) == TS_OK) {
        size_t n = (size_t)count * rows * cols;
        if (n) sink ^= px[n - 1];
        free(px);
    }
    return 0;
}
