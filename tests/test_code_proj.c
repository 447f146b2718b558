/* model/code_proj.c: media-code embeddings tied to the VQ codebook. The
 * projection's gradient against finite differences of the whole decoder's
 * loss; a trainer that keeps the rows on the codebook's affine map; resume
 * with the projection in the checkpoint. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/code_proj.h"
#include "nn/cross_entropy.h"
#include "tessera.h"
#include "tests/gradcheck.h"
#include "tests/testutil.h"

/* vocabulary 11: ids [5, 11) are the media codes, 6 of them, 3 floats wide */
#define CODE_BASE 5
#define K 6
#define DIM 3

static void random_codebook(float *cb, int n, uint64_t seed) {
    ts_rng r;
    ts_rng_seed(&r, seed);
    for (int i = 0; i < n; i++)
        cb[i] = ts_rng_normal(&r);
}

typedef struct {
    ts_model *m;
    ts_code_proj *p;
    ts_acts a;
    int32_t ids[10], targets[10];
    float w[10];
} proj_ctx;

/* the loss as a function of W and b: the rows follow them first */
static double proj_loss(void *v) {
    proj_ctx *c = v;
    ts_code_proj_write_rows(c->p, c->m->w.tok_embd);
    ts_model_forward(c->m, NULL, &c->a, c->ids, true);
    ts_cross_entropy_forward(NULL, c->a.losses, c->a.logits, c->targets, c->w, 10,
                             c->m->c.vocab_size);
    double loss = 0;
    for (int n = 0; n < 10; n++)
        loss += (double)c->w[n] * c->a.losses[n];
    return loss;
}

static void test_projection_gradient_matches_finite_differences(void **state) {
    ts_model_config cf = tu_tiny_decoder_config();
    /* tied: the rows get gradient as inputs and as output-head rows */
    for (int tied = 0; tied < 2; tied++) {
        cf.tied_output = tied;
        proj_ctx c = {0};
        float cb[K * DIM];
        random_codebook(cb, K * DIM, 7);
        assert_int_equal(ts_model_new(&cf, 3, &c.m), TS_OK);
        for (int l = 0; l < cf.n_layers; l++)
            for (int h = 0; h < cf.n_heads; h++)
                c.m->w.L[l].bgate[h] = 5.0f; /* gates open */
        assert_int_equal(ts_code_proj_new(c.m, CODE_BASE, cb, K, DIM, 4, &c.p), TS_OK);
        /* larger than the init, so the codes carry signal to the loss */
        ts_rng r;
        ts_rng_seed(&r, 5);
        for (int j = 0; j < DIM * 8 + 8; j++)
            c.p->w[j] = 0.5f * ts_rng_normal(&r);
        assert_int_equal(ts_acts_new(c.m, 2, 5, true, &c.a), TS_OK);
        for (int n = 0; n < 10; n++) {
            c.ids[n] = n % 5 < 3 ? CODE_BASE + (int32_t)ts_rng_below(&r, K)
                                 : (int32_t)ts_rng_below(&r, CODE_BASE);
            c.targets[n] = (int32_t)ts_rng_below(&r, 11);
            c.w[n] = 0.1f;
        }
        ts_code_proj_write_rows(c.p, c.m->w.tok_embd);
        ts_model_forward(c.m, NULL, &c.a, c.ids, false); /* route once; kept from here */
        float *grads = calloc(c.m->n_params, sizeof(float));
        ts_weights g;
        g.L = calloc((size_t)cf.n_layers, sizeof *g.L);
        ts_model_bind(c.m, grads, &g);
        proj_loss(&c);
        ts_cross_entropy_backward(NULL, c.a.logits, c.a.logits, c.targets, c.w, 10, cf.vocab_size);
        ts_model_backward(c.m, NULL, &c.a, c.ids, &g, 0.0f, 0.0f);
        double ss = ts_code_proj_backward(c.p, g.tok_embd);
        /* the rows' gradient moved onto W and b */
        for (int j = 0; j < K * 8; j++)
            assert_true(g.tok_embd[CODE_BASE * 8 + j] == 0.0f);
        double ss_ref = 0;
        for (int j = 0; j < DIM * 8 + 8; j++)
            ss_ref += (double)c.p->g[j] * c.p->g[j];
        assert_true(ss > 0 && ss == ss_ref);
        double err = tu_gradcheck(proj_loss, &c, c.p->w, c.p->g, DIM * 8 + 8, 1e-2f, 32, 1e-3,
                                  "code projection");
        assert_true(err < 3e-2);
        free(grads);
        free(g.L);
        ts_acts_free(&c.a);
        ts_code_proj_free(c.p);
        ts_model_free(c.m);
    }
}

/* ---- the trainer ----------------------------------------------------------------------- */

/* a sequence of 9 inputs (+1 target): three codes, then text; the loss
 * covers the text, which names the codes' group */
#define SEQ 9
static void code_batch(ts_rng *r, int B, int32_t *tok, uint8_t *mask) {
    for (int b = 0; b < B; b++) {
        int32_t *t = tok + b * (SEQ + 1);
        for (int i = 0; i < 3; i++)
            t[i] = CODE_BASE + (int32_t)ts_rng_below(r, K);
        for (int i = 3; i <= SEQ; i++)
            t[i] = t[i - 3] >= CODE_BASE + 3 ? 1 : 2;
        for (int i = 0; i < SEQ; i++)
            mask[b * SEQ + i] = i >= 2;
    }
}

static ts_model_config train_config(void) {
    ts_model_config c = ts_model_config_default(11);
    c.d_model = 16, c.n_heads = 2, c.head_dim = 8, c.n_layers = 2, c.n_dense_layers = 1;
    c.ffn_hidden = 32, c.n_experts = 4, c.n_experts_used = 2, c.expert_hidden = 16;
    c.context = 16;
    return c;
}

static void run(ts_trainer *t, ts_rng *r, int n, double *losses) {
    int32_t tok[4 * (SEQ + 1)];
    uint8_t mask[4 * SEQ];
    for (int i = 0; i < n; i++) {
        code_batch(r, 4, tok, mask);
        ts_train_stats st;
        assert_int_equal(ts_trainer_step(t, tok, mask, &st), TS_OK);
        if (losses) losses[i] = st.loss;
    }
}

/* max |rows[3] - (rows[1] + rows[2]) / 2| over d_model */
static double off_affine(const ts_model *m) {
    const int D = m->c.d_model;
    const float *E = m->w.tok_embd + (size_t)CODE_BASE * D;
    double worst = 0;
    for (int d = 0; d < D; d++)
        worst = fmax(worst, fabs(E[3 * D + d] - 0.5 * (E[1 * D + d] + E[2 * D + d])));
    return worst;
}

static void test_trainer_keeps_rows_on_the_codebook_map(void **state) {
    ts_model_config cf = train_config();
    ts_train_config tc = ts_train_config_default();
    tc.batch = 4, tc.seq_len = SEQ, tc.steps = 30, tc.warmup = 2, tc.lr = 1e-2f;
    /* code 3 is the midpoint of codes 1 and 2: its row must stay the
     * midpoint of theirs, which free rows do not */
    float cb[K * DIM];
    random_codebook(cb, K * DIM, 9);
    for (int j = 0; j < DIM; j++)
        cb[3 * DIM + j] = 0.5f * (cb[1 * DIM + j] + cb[2 * DIM + j]);
    double off[2], first[2], last[2];
    for (int tie = 0; tie < 2; tie++) {
        ts_model *m;
        ts_trainer *t;
        assert_int_equal(ts_model_new(&cf, 5, &m), TS_OK);
        assert_int_equal(ts_trainer_new(m, &tc, NULL, &t), TS_OK);
        if (tie) assert_int_equal(ts_trainer_tie_codes(t, CODE_BASE, cb, K, DIM, 5), TS_OK);
        ts_rng r;
        ts_rng_seed(&r, 6);
        double losses[30];
        run(t, &r, 30, losses);
        off[tie] = off_affine(m), first[tie] = losses[0], last[tie] = losses[29];
        ts_trainer_free(t);
        ts_model_free(m);
    }
    assert_true(off[1] < 1e-5);
    assert_true(off[0] > 1e-3);
    for (int tie = 0; tie < 2; tie++)
        assert_true(last[tie] < 0.5 * first[tie]);
    /* codes outside the vocabulary are refused */
    ts_model *m;
    ts_trainer *t;
    assert_int_equal(ts_model_new(&cf, 5, &m), TS_OK);
    assert_int_equal(ts_trainer_new(m, &tc, NULL, &t), TS_OK);
    assert_int_equal(ts_trainer_tie_codes(t, CODE_BASE + 1, cb, K, DIM, 5), TS_ERR_INPUT);
    ts_trainer_free(t);
    ts_model_free(m);
}

static void test_resume_restores_the_projection(void **state) {
    ts_model_config cf = train_config();
    ts_train_config tc = ts_train_config_default();
    tc.batch = 4, tc.seq_len = SEQ, tc.steps = 12, tc.warmup = 2, tc.lr = 1e-2f;
    float cb[K * DIM];
    random_codebook(cb, K * DIM, 9);
    char *dir = tu_mkdtemp();
    const char *ck = tu_path(dir, "ckpt.gguf");
    ts_model *m;
    ts_trainer *t;
    assert_int_equal(ts_model_new(&cf, 5, &m), TS_OK);
    assert_int_equal(ts_trainer_new(m, &tc, NULL, &t), TS_OK);
    assert_int_equal(ts_trainer_tie_codes(t, CODE_BASE, cb, K, DIM, 5), TS_OK);
    ts_rng r;
    ts_rng_seed(&r, 6);
    double full[10], resumed[6];
    run(t, &r, 4, full);
    assert_int_equal(ts_trainer_save(t, ck, r.s, 4), TS_OK);
    run(t, &r, 6, full + 4);
    ts_trainer_free(t);
    ts_model_free(m);
    /* another initial model and projection seed: everything comes from the file */
    assert_int_equal(ts_model_new(&cf, 99, &m), TS_OK);
    assert_int_equal(ts_trainer_new(m, &tc, NULL, &t), TS_OK);
    assert_int_equal(ts_trainer_tie_codes(t, CODE_BASE, cb, K, DIM, 99), TS_OK);
    ts_rng r2;
    int n_extra = 0;
    assert_int_equal(ts_trainer_load(t, ck, r2.s, 4, &n_extra), TS_OK);
    run(t, &r2, 6, resumed);
    for (int i = 0; i < 6; i++)
        assert_true(resumed[i] == full[4 + i]);
    ts_trainer_free(t);
    ts_model_free(m);
    /* a tied checkpoint does not resume into free rows */
    assert_int_equal(ts_model_new(&cf, 5, &m), TS_OK);
    assert_int_equal(ts_trainer_new(m, &tc, NULL, &t), TS_OK);
    assert_int_equal(ts_trainer_load(t, ck, r2.s, 4, &n_extra), TS_ERR_INPUT);
    ts_trainer_free(t);
    ts_model_free(m);
    tu_rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_projection_gradient_matches_finite_differences),
        cmocka_unit_test(test_trainer_keeps_rows_on_the_codebook_map),
        cmocka_unit_test(test_resume_restores_the_projection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
