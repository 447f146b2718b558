/* Code swaps: neighbours in the codebook, drawn while the decoder trains
 * (code_swap.h). */
#include "fusion/code_swap.h"
#include "vqvae/quantize.h"

#include <cblas.h>
#include <stdlib.h>

void code_swap_free(code_swap *cs) {
    if (!cs) return;
    for (int k = 0; k < CODE_SWAP_KINDS; k++) {
        free(cs->nb[k]);
        free(cs->count[k]);
    }
    free(cs);
}

ts_status code_swap_new(const ts_vocab *v, float p_image, float p_audio, code_swap **out) {
    *out = NULL;
    if (!(p_image >= 0 && p_image <= 1 && p_audio >= 0 && p_audio <= 1))
        return ts_fail(TS_ERR_USAGE, "code swap probabilities must be in [0, 1]");
    code_swap *cs = calloc(1, sizeof *cs);
    if (!cs) return ts_fail(TS_ERR_NOMEM, "out of memory");
    cs->vocab = *v;
    cs->p[CODE_SWAP_IMAGE] = p_image, cs->p[CODE_SWAP_AUDIO] = p_audio;
    for (int k = 0; k < CODE_SWAP_KINDS; k++) {
        cs->nb[k] = malloc(sizeof(int32_t) * (size_t)v->n_codes * CODE_SWAP_NEIGHBOURS);
        cs->count[k] = calloc((size_t)v->n_codes, sizeof(int64_t));
        if (!cs->nb[k] || !cs->count[k]) {
            code_swap_free(cs);
            return ts_fail(TS_ERR_NOMEM, "out of memory");
        }
        for (int c = 0; c < v->n_codes; c++) /* until chosen: a code swaps to itself */
            for (int j = 0; j < CODE_SWAP_NEIGHBOURS; j++)
                cs->nb[k][(size_t)c * CODE_SWAP_NEIGHBOURS + j] = c;
    }
    *out = cs;
    return TS_OK;
}

/* The kind of media the token after tok opens, -1 after a closing marker,
 * and -2 when tok leaves the state as it was (a code, or text). */
static int next_kind(const ts_vocab *v, int32_t tok) {
    if (tok < v->special_base || tok >= v->code_base) return -2;
    switch (tok - v->special_base) {
    case TS_TOK_IMG:
        return CODE_SWAP_IMAGE;
    case TS_TOK_AUD:
        return CODE_SWAP_AUDIO;
    default:
        return -1;
    }
}

void code_swap_count(code_swap *cs, const int32_t *tok, int n) {
    const ts_vocab *v = &cs->vocab;
    for (int i = 0, kind = -1; i < n; i++) {
        int k = next_kind(v, tok[i]);
        if (k != -2)
            kind = k;
        else if (kind >= 0 && tok[i] >= v->code_base && tok[i] < v->n_vocab)
            cs->count[kind][tok[i] - v->code_base]++;
    }
}

ts_status code_swap_neighbours(code_swap *cs, const float *codebook, int dim) {
    const int K = cs->vocab.n_codes, J = CODE_SWAP_NEIGHBOURS;
    /* -2 e_a . e_b, then + |e_b|^2: the order of |e_a - e_b|^2 for each a */
    float *d = malloc(sizeof(float) * (size_t)K * K), *norm = malloc(sizeof(float) * (size_t)K);
    if (!d || !norm) {
        free(d);
        free(norm);
        return ts_fail(TS_ERR_NOMEM, "out of memory");
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, K, K, dim, -2.0f, codebook, dim, codebook,
                dim, 0.0f, d, K);
    ts_vq_code_norms(norm, codebook, K, dim);
    for (int kind = 0; kind < CODE_SWAP_KINDS; kind++) {
        const int64_t *used = cs->count[kind];
        for (int a = 0; a < K; a++) {
            if (!used[a]) continue;
            int32_t *nb = cs->nb[kind] + (size_t)a * J;
            float best[CODE_SWAP_NEIGHBOURS];
            int found = 0;
            for (int b = 0; b < K; b++) { /* insertion into the J nearest so far */
                if (b == a || !used[b]) continue;
                float v = d[(size_t)a * K + b] + norm[b];
                if (found == J && v >= best[J - 1]) continue; /* ties: the lower b stays */
                int at = found < J ? found : J - 1;
                for (; at > 0 && v < best[at - 1]; at--)
                    best[at] = best[at - 1], nb[at] = nb[at - 1];
                best[at] = v, nb[at] = b;
                if (found < J) found++;
            }
            for (int j = found; j < J; j++) /* too few of its kind */
                nb[j] = found ? nb[found - 1] : a;
        }
    }
    free(d);
    free(norm);
    return TS_OK;
}

void code_swap_apply(const code_swap *cs, uint64_t seed, int32_t *tok, int n) {
    const ts_vocab *v = &cs->vocab;
    ts_rng r;
    ts_rng_seed(&r, seed);
    for (int i = 0, kind = -1; i < n; i++) {
        int k = next_kind(v, tok[i]);
        if (k != -2) {
            kind = k;
            continue;
        }
        if (kind < 0 || cs->p[kind] <= 0 || tok[i] < v->code_base || tok[i] >= v->n_vocab) continue;
        if (ts_rng_uniform(&r) >= cs->p[kind]) continue;
        int c = tok[i] - v->code_base, j = (int)(ts_rng_u64(&r) % CODE_SWAP_NEIGHBOURS);
        tok[i] = v->code_base + cs->nb[kind][(size_t)c * CODE_SWAP_NEIGHBOURS + j];
    }
}
