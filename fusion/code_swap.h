/* Code swaps (fusion/code_swap.c): an augmentation of the media codes the
 * decoder reads while it trains. Each code of a clip (or an image) is
 * replaced, with probability p, by one of its J nearest neighbours in the
 * VQ codebook among the codes that modality uses. A new speaker's frames
 * fall on codes near the training speakers' ones, not on the same ones; the
 * swaps show the decoder such near misses. Media codes are never targets,
 * so only the inputs change. */
#ifndef TESSERA_FUSION_CODE_SWAP_H
#define TESSERA_FUSION_CODE_SWAP_H

#include "tessera/fusion.h"

#define CODE_SWAP_NEIGHBOURS 3 /* J */

enum { CODE_SWAP_IMAGE, CODE_SWAP_AUDIO, CODE_SWAP_KINDS };

typedef struct {
    ts_vocab vocab;
    float p[CODE_SWAP_KINDS];
    /* (kind, code) -> its J nearest other codes of that kind (K x J each;
     * a code with fewer neighbours of its kind repeats the last, or itself) */
    int32_t *nb[CODE_SWAP_KINDS];
    int64_t *count[CODE_SWAP_KINDS]; /* uses of each code, from code_swap_count */
} code_swap;

/* p_image, p_audio in [0, 1]. Free with code_swap_free. */
ts_status code_swap_new(const ts_vocab *v, float p_image, float p_audio, code_swap **out);
/* Counts the media codes of tok[0..n) by kind (a code inside <img> </img> or
 * <aud> </aud>); the neighbours are chosen among codes counted at least once. */
void code_swap_count(code_swap *cs, const int32_t *tok, int n);
/* Chooses each used code's neighbours: the J nearest by L2 in the codebook
 * (K rows of dim floats), ties to the lower index. */
ts_status code_swap_neighbours(code_swap *cs, const float *codebook, int dim);
/* Swaps the media codes of tok[0..n) in place, the draws from a stream of
 * its own seeded with seed (same seed: same swaps). */
void code_swap_apply(const code_swap *cs, uint64_t seed, int32_t *tok, int n);
void code_swap_free(code_swap *cs);

#endif
