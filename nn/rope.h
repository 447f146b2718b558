/* Rotary position embedding on adjacent pairs (x[2i], x[2i+1]) of each head,
 * angle pos · theta^(−2i/hd). */
#ifndef TESSERA_NN_ROPE_H
#define TESSERA_NN_ROPE_H

#include <stdint.h>

/* cos/sin tables [max_pos, hd/2]. */
void ts_rope_table(float *cosv, float *sinv, int max_pos, int hd, float theta);
/* x: N rows of stride ld, each holding H heads of hd at offset 0; rotated in
 * place by the angles of pos[N]. */
void ts_rope_forward(float *x, int ld, int N, int H, int hd, const int32_t *pos,
                     const float *cosv, const float *sinv);
/* The transpose: rotates the gradient back (by −angle), in place. */
void ts_rope_backward(float *dx, int ld, int N, int H, int hd, const int32_t *pos,
                      const float *cosv, const float *sinv);

#endif
