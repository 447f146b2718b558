/* Readers for data-set containers: ustar archives (core/tar.c) and MNIST idx
 * files, plain or gzipped (vision/mnist.c). */
#ifndef TESSERA_DATASET_H
#define TESSERA_DATASET_H

#include "tessera/core.h"

/* ---- tar (POSIX ustar and old GNU/v7 headers, no compression) ------------ */
typedef struct {
    const uint8_t *data; /* the whole archive */
    size_t len;
    size_t pos;          /* offset of the next header */
    const char *name;    /* the archive's name, for messages */
} ts_tar;

typedef struct {
    char name[256 + 156]; /* prefix "/" name, NUL-terminated */
    const uint8_t *data;  /* the member's bytes, inside the archive */
    size_t size;
    char type;            /* '0' (or '\0') regular file, '5' directory, ... */
} ts_tar_member;

void ts_tar_init(ts_tar *t, const uint8_t *data, size_t len, const char *name);
/* Next member (any type): TS_OK with *done = false, or *done = true at the
 * end of the archive; TS_ERR_INPUT for a corrupt header (bad checksum,
 * member running past the end). */
ts_status ts_tar_next(ts_tar *t, ts_tar_member *m, bool *done);
/* True when the buffer starts with a tar header (valid checksum). */
bool ts_tar_sniff(const uint8_t *buf, size_t len);

/* ---- MNIST idx images ----------------------------------------------------- */
/* True for an idx3 images file (magic 0x00000803), plain or gzip. */
bool ts_mnist_sniff(const uint8_t *buf, size_t len);
/* Reads all images: *pixels is count x rows x cols bytes (malloc'd). Accepts
 * gzip-compressed input. Sizes are checked against the data. */
ts_status ts_mnist_read(const char *path, uint8_t **pixels, int *count, int *rows, int *cols);
ts_status ts_mnist_read_mem(const uint8_t *buf, size_t len, const char *name, uint8_t **pixels,
                            int *count, int *rows, int *cols);

/* ---- held-out speakers ------------------------------------------------------ */
/* True for a speech-commands speaker id (8 hex digits) among the val_percent %
 * held out: FNV-1a of the id, mod 100, below val_percent. */
bool ts_sc_speaker_is_val(const char *speaker, int val_percent);

#endif
