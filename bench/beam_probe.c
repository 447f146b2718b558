/* What does the beam search's width do to captions? For each held-out image
 * of a task (or any folder with a labels.tsv of that layout, such as
 * CIFAR-10 training images), the image is read in the commands' views and
 * captioned by ts_generator_beam of width B, as `tessera caption --beam B`
 * captions it; B = 1 is greedy decoding. Prints the accuracy, so widths
 * can be compared on a split of one's choosing without the whole of
 * bench/model_accuracy.sh.
 *
 *   build/bench/beam_probe MODEL HELDOUT_DIR TASK N VIEWS B
 *
 * TASK: mnist or cifar10 (the class word must appear in the caption) or
 * scenes (the exact caption). */
#include "bench/heldout_images.h"

#define MAX_ANSWER 48

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: beam_probe MODEL HELDOUT_DIR TASK N VIEWS B\n");
        return 1;
    }
    const char *path = argv[1];
    const int limit = atoi(argv[4]), n_views = atoi(argv[5]), B = atoi(argv[6]);
    if (n_views < 1 || n_views > TS_MAX_VIEWS || B < 1 || B > TS_MAX_BEAM) {
        fprintf(stderr, "beam_probe: VIEWS 1-%d, B 1-%d\n", TS_MAX_VIEWS, TS_MAX_BEAM);
        return 1;
    }
    ts_gguf *g;
    ts_model *m;
    ts_vocab voc;
    ts_vq *vq;
    ts_bpe *tok;
    ts_generator *gen;
    if (ts_gguf_open(path, &g) || ts_model_load_gguf(g, path, &m) || ts_vocab_read(g, &voc) ||
        ts_vq_from_gguf(g, path, &vq) || ts_bpe_load(g, &tok) || ts_generator_new(m, &gen)) {
        fprintf(stderr, "beam_probe: %s: %s\n", path, ts_last_error());
        return 2;
    }
    const int32_t eos = ts_vocab_special(&voc, TS_TOK_EOS);
    heldout_images h;
    heldout_open(&h, "beam_probe", argv[2], argv[3], vq, tok, &voc, n_views);
    int items = 0, right = 0;
    while (items < limit && heldout_next(&h)) {
        answer_ids got = {.n_text = voc.n_text, .cap = MAX_ANSWER};
        int made;
        if (ts_generator_beam(gen, NULL, h.prompts, h.lens, h.md.n_views, MAX_ANSWER, B, eos,
                              voc.n_text, 0, NULL, keep_text, &got, &made))
            heldout_die(&h, h.file);
        char *text;
        size_t len;
        if (ts_bpe_decode(tok, got.ids, (size_t)got.n, &text, &len)) heldout_die(&h, h.file);
        right += caption_right(text, h.expected);
        free(text);
        items++;
    }
    printf("%s: %d items, %d views, beam %d: %.2f %%\n", argv[3], items, n_views, B,
           items ? 100.0 * right / items : 0.0);
    heldout_close(&h);
    ts_generator_free(gen);
    ts_bpe_free(tok);
    ts_vq_free(vq);
    ts_model_free(m);
    ts_gguf_close(g);
    return 0;
}
