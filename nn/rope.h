/* Rotary position embedding on adjacent pairs (x[2i], x[2i+1]) of each head,
 * angle pos · theta^(−2i/hd). A token may have two positions, one per axis
 * of an image grid: pair i turns by its row position when i is even and by
 * its column position when i is odd, so each axis gets half the
 * frequencies, fast to slow, and q·k depends on the offsets along both axes.
 * A token whose two positions are equal turns exactly as under 1-D RoPE. */
#ifndef TESSERA_NN_ROPE_H
#define TESSERA_NN_ROPE_H

#include <stdint.h>

/* cos/sin tables [max_pos, hd/2]. */
void ts_rope_table(float *cosv, float *sinv, int max_pos, int hd, float theta);
/* x: N rows of stride ld, each holding H heads of hd at offset 0; rotated in
 * place by the angles of row[N] (even pairs) and col[N] (odd pairs; NULL:
 * row for every pair). */
void ts_rope_forward(float *x, int ld, int N, int H, int hd, const int32_t *row, const int32_t *col,
                     const float *cosv, const float *sinv);
/* The transpose: rotates the gradient back (by −angle), in place. */
void ts_rope_backward(float *dx, int ld, int N, int H, int hd, const int32_t *row,
                      const int32_t *col, const float *cosv, const float *sinv);

#endif
