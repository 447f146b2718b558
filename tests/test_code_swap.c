/* fusion/code_swap.c: each modality's neighbours are the nearest codes that
 * modality uses (ties to the lower index), and the swaps touch only the
 * codes inside their media markers, at the rate asked, the same for the
 * same seed. */
#include "fusion/code_swap.h"
#include "tests/testutil.h"

#include <stdlib.h>
#include <string.h>

#define K 9
#define DIM 2

/* On a line: image codes 0 1 2 at 0, 1, 2; audio codes 3 4 5 6 at 10, 11,
 * 13, 14 and 7 at 2.5 (nearer image code 2 than any image code is); 8 at
 * 30 is used by neither. */
static const float codebook[K * DIM] = {
    0,    0, 1,  0, 2,  0,        /* image */
    10,   0, 11, 0, 13, 0, 14, 0, /* audio */
    2.5f, 0,                      /* audio, beside the image codes */
    30,   0,                      /* neither */
};

static ts_vocab vocab(void) {
    ts_vocab v;
    ts_vocab_init(&v, 300, K);
    return v;
}

static int32_t sp(const ts_vocab *v, ts_special s) { return ts_vocab_special(v, s); }

/* <bos> <img> 0 1 2 </img> <aud> 3 4 5 6 7 </aud> <user> 'a' (code 1) <assistant> */
static int example(const ts_vocab *v, int32_t *t) {
    int n = 0;
    t[n++] = sp(v, TS_TOK_BOS), t[n++] = sp(v, TS_TOK_IMG);
    for (int c = 0; c <= 2; c++)
        t[n++] = v->code_base + c;
    t[n++] = sp(v, TS_TOK_IMG_END), t[n++] = sp(v, TS_TOK_AUD);
    for (int c = 3; c <= 7; c++)
        t[n++] = v->code_base + c;
    t[n++] = sp(v, TS_TOK_AUD_END), t[n++] = sp(v, TS_TOK_USER), t[n++] = 'a';
    t[n++] = v->code_base + 1; /* outside any media: never swapped */
    t[n++] = sp(v, TS_TOK_ASSISTANT);
    return n;
}

static code_swap *counted(float p_image, float p_audio) {
    ts_vocab v = vocab();
    code_swap *cs;
    assert_int_equal(code_swap_new(&v, p_image, p_audio, &cs), TS_OK);
    int32_t t[32];
    int n = example(&v, t);
    code_swap_count(cs, t, n);
    assert_int_equal(code_swap_neighbours(cs, codebook, DIM), TS_OK);
    return cs;
}

static void expect_nb(const code_swap *cs, int kind, int code, int a, int b, int c) {
    const int32_t *nb = cs->nb[kind] + code * CODE_SWAP_NEIGHBOURS;
    assert_int_equal(nb[0], a);
    assert_int_equal(nb[1], b);
    assert_int_equal(nb[2], c);
}

static void test_neighbours(void **state) {
    (void)state;
    code_swap *cs = counted(0.5f, 0.5f);
    /* counted by kind; the code after <user> is not an image's */
    assert_int_equal(cs->count[CODE_SWAP_IMAGE][1], 1);
    assert_int_equal(cs->count[CODE_SWAP_AUDIO][1], 0);
    assert_int_equal(cs->count[CODE_SWAP_AUDIO][7], 1);
    /* two image neighbours only: the last repeats; 7 (audio) never comes in */
    expect_nb(cs, CODE_SWAP_IMAGE, 0, 1, 2, 2);
    expect_nb(cs, CODE_SWAP_IMAGE, 1, 0, 2, 2); /* 0 and 2 tie: the lower first */
    expect_nb(cs, CODE_SWAP_IMAGE, 2, 1, 0, 0);
    expect_nb(cs, CODE_SWAP_AUDIO, 3, 4, 5, 6);
    expect_nb(cs, CODE_SWAP_AUDIO, 5, 6, 4, 3);
    expect_nb(cs, CODE_SWAP_AUDIO, 7, 3, 4, 5);
    /* unused codes swap to themselves */
    expect_nb(cs, CODE_SWAP_IMAGE, 8, 8, 8, 8);
    expect_nb(cs, CODE_SWAP_AUDIO, 0, 0, 0, 0);
    code_swap_free(cs);
}

static void test_apply(void **state) {
    (void)state;
    ts_vocab v = vocab();
    int32_t orig[32], t[32], u[32];
    const int n = example(&v, orig);
    /* every audio code swapped, to one of its neighbours; nothing else */
    code_swap *cs = counted(0, 1);
    int seen[K][K] = {{0}};
    for (uint64_t seed = 0; seed < 200; seed++) {
        memcpy(t, orig, sizeof t);
        code_swap_apply(cs, seed, t, n);
        for (int i = 0; i < n; i++) {
            bool audio = i >= 7 && i <= 11;
            if (!audio) {
                assert_int_equal(t[i], orig[i]);
                continue;
            }
            int a = orig[i] - v.code_base, b = t[i] - v.code_base;
            const int32_t *nb = cs->nb[CODE_SWAP_AUDIO] + a * CODE_SWAP_NEIGHBOURS;
            assert_true(b == nb[0] || b == nb[1] || b == nb[2]);
            seen[a][b]++;
        }
        memcpy(u, orig, sizeof u); /* the same seed: the same swaps */
        code_swap_apply(cs, seed, u, n);
        assert_memory_equal(t, u, sizeof(int32_t) * n);
    }
    /* each of 3's three neighbours is drawn about a third of the time */
    for (int b = 4; b <= 6; b++)
        assert_in_range(seen[3][b], 45, 90);
    code_swap_free(cs);

    /* a quarter of the image codes, none of the audio ones */
    cs = counted(0.25f, 0);
    int swapped = 0, total = 0;
    for (uint64_t seed = 0; seed < 1000; seed++) {
        memcpy(t, orig, sizeof t);
        code_swap_apply(cs, seed, t, n);
        for (int i = 2; i <= 4; i++)
            swapped += t[i] != orig[i], total++;
        assert_memory_equal(t + 5, orig + 5, sizeof(int32_t) * (n - 5));
    }
    assert_in_range(swapped * 1000 / total, 220, 280);
    code_swap_free(cs);
}

static void test_bad_rate(void **state) {
    (void)state;
    ts_vocab v = vocab();
    code_swap *cs = NULL;
    assert_int_equal(code_swap_new(&v, 1.5f, 0, &cs), TS_ERR_USAGE);
    assert_null(cs);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_neighbours),
        cmocka_unit_test(test_apply),
        cmocka_unit_test(test_bad_rate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
