/* fusion/scenes.c: exact captions, deterministic pixels, anti-aliased edges,
 * geometry that matches the caption, and a split of unseen combinations. */
#include "tessera.h"
#include "tessera/pipeline.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_captions_exact(void **state) {
    (void)state;
    char buf[160];
    ts_scene one = {.n = 1, .s = {{TS_SHAPE_CIRCLE, 0, 1, 16, 16, 9}}};
    assert_int_equal(ts_scene_caption(&one, buf, sizeof buf), (int)strlen("a large red circle"));
    assert_string_equal(buf, "a large red circle");
    ts_scene two = {.n = 2, .relation = TS_REL_LEFT,
                    .s = {{TS_SHAPE_TRIANGLE, 1, 0, 8, 16, 4}, {TS_SHAPE_SQUARE, 2, 1, 24, 16, 6}}};
    ts_scene_caption(&two, buf, sizeof buf);
    assert_string_equal(buf, "a small green triangle to the left of a large blue square");
    two.relation = TS_REL_BELOW;
    ts_scene_caption(&two, buf, sizeof buf);
    assert_string_equal(buf, "a small green triangle below a large blue square");
    ts_scene three = {.n = 3, .relation = TS_REL_COLUMN,
                      .s = {{TS_SHAPE_SQUARE, 3, 0, 16, 5, 3},
                            {TS_SHAPE_CIRCLE, 4, 1, 16, 16, 4},
                            {TS_SHAPE_TRIANGLE, 5, 0, 16, 27, 3}}};
    ts_scene_caption(&three, buf, sizeof buf);
    assert_string_equal(buf, "a small yellow square, a large purple circle and a small orange "
                             "triangle from top to bottom");
    /* truncation keeps a terminated prefix */
    char small[8];
    assert_int_equal(ts_scene_caption(&one, small, sizeof small), 7);
    assert_string_equal(small, "a large");
}

static void test_render_pixels(void **state) {
    (void)state;
    uint8_t px[32 * 32 * 3];
    ts_scene one = {.n = 1, .s = {{TS_SHAPE_SQUARE, 2, 1, 16, 16, 8}}};
    ts_scene_render(&one, px);
    /* centre: pure blue; corner: the grey background; the square's edge at
     * x = 16 + 6.8 = 22.8 covers 80% of pixel 22 */
    const uint8_t *c = px + (16 * 32 + 16) * 3;
    assert_int_equal(c[0], 50);
    assert_int_equal(c[1], 90);
    assert_int_equal(c[2], 230);
    const uint8_t *bg = px;
    assert_int_equal(bg[0], bg[1]);
    assert_int_equal(bg[1], bg[2]);
    assert_true(bg[0] >= 24 && bg[0] < 36);
    const uint8_t *edge = px + (16 * 32 + 22) * 3;
    assert_true(edge[2] > bg[2] && edge[2] < 230);
    /* exactly 0.75 of the 4 x 4 samples of pixel 22 fall inside (x + 0.125, 0.375, 0.625) */
    assert_int_equal(edge[2], (int)lrintf((3 * 230 + bg[2]) / 4.0f));

    /* a circle's corners stay background, its centre is red */
    ts_scene circ = {.n = 1, .s = {{TS_SHAPE_CIRCLE, 0, 1, 16, 16, 8}}};
    ts_scene_render(&circ, px);
    assert_int_equal(px[(16 * 32 + 16) * 3], 220);
    int bgc = px[0];
    assert_int_equal(px[(9 * 32 + 9) * 3], bgc); /* (9.5, 9.5) is 9.2 px from the centre */
}

static void test_deterministic_and_varied(void **state) {
    (void)state;
    uint8_t a[32 * 32 * 3], b[32 * 32 * 3];
    ts_scene s1, s2;
    ts_scene_make(7, 42, TS_SPLIT_TRAIN, &s1);
    ts_scene_make(7, 42, TS_SPLIT_TRAIN, &s2);
    assert_memory_equal(&s1, &s2, sizeof s1);
    ts_scene_render(&s1, a);
    ts_scene_render(&s2, b);
    assert_memory_equal(a, b, sizeof a);
    int differ = 0;
    for (int i = 0; i < 50; i++) {
        ts_scene_make(7, (uint64_t)i, TS_SPLIT_TRAIN, &s1);
        ts_scene_make(8, (uint64_t)i, TS_SPLIT_TRAIN, &s2);
        char c1[160], c2[160];
        ts_scene_caption(&s1, c1, sizeof c1);
        ts_scene_caption(&s2, c2, sizeof c2);
        differ += strcmp(c1, c2) != 0;
    }
    assert_true(differ > 40);
}

static void test_geometry_matches_caption(void **state) {
    (void)state;
    int counts[4] = {0};
    for (int i = 0; i < 600; i++) {
        ts_scene s;
        ts_scene_make(3, (uint64_t)i, i % 5 == 0 ? TS_SPLIT_VAL : TS_SPLIT_TRAIN, &s);
        assert_true(s.n >= 1 && s.n <= 3);
        counts[s.n]++;
        for (int k = 0; k < s.n; k++) {
            /* every shape lies inside the picture */
            assert_true(s.s[k].cx - s.s[k].r >= 0 && s.s[k].cx + s.s[k].r <= 32);
            assert_true(s.s[k].cy - s.s[k].r >= 0 && s.s[k].cy + s.s[k].r <= 32);
        }
        if (s.relation == TS_REL_LEFT) assert_true(s.s[0].cx + s.s[0].r < s.s[1].cx - s.s[1].r + 2);
        /* canonical captions: the first-named shape is the left or top one */
        assert_true(s.relation != TS_REL_RIGHT && s.relation != TS_REL_BELOW);
        if (s.relation == TS_REL_ABOVE) assert_true(s.s[0].cy < s.s[1].cy - 6);
        if (s.relation == TS_REL_ROW) assert_true(s.s[0].cx < s.s[1].cx && s.s[1].cx < s.s[2].cx);
        if (s.relation == TS_REL_COLUMN) assert_true(s.s[0].cy < s.s[1].cy && s.s[1].cy < s.s[2].cy);
    }
    assert_true(counts[1] > 100 && counts[2] > 100 && counts[3] > 100);
}

static void test_part_questions_match_geometry(void **state) {
    (void)state;
    char q[64], a[64], cap[200];
    for (int i = 0; i < 300; i++) {
        ts_scene s;
        ts_scene_make(5, (uint64_t)i, TS_SPLIT_TRAIN, &s);
        ts_scene_caption(&s, cap, sizeof cap);
        if (s.n == 1) {
            assert_false(ts_scene_part_question(&s, 0, q, sizeof q, a, sizeof a));
            continue;
        }
        assert_false(ts_scene_part_question(&s, s.n, q, sizeof q, a, sizeof a));
        for (int k = 0; k < s.n; k++) {
            assert_true(ts_scene_part_question(&s, k, q, sizeof q, a, sizeof a));
            /* the answer is the caption's phrase for that shape */
            assert_non_null(strstr(cap, a));
            assert_non_null(strstr(a, ts_shape_name(s.s[k].shape)));
            /* and the position word agrees with where its centre lies among the others */
            float lo_x = 99, hi_x = -1, lo_y = 99, hi_y = -1;
            for (int j = 0; j < s.n; j++) {
                lo_x = fminf(lo_x, s.s[j].cx), hi_x = fmaxf(hi_x, s.s[j].cx);
                lo_y = fminf(lo_y, s.s[j].cy), hi_y = fmaxf(hi_y, s.s[j].cy);
            }
            if (!strcmp(q, "What is on the left?")) assert_true(s.s[k].cx == lo_x);
            else if (!strcmp(q, "What is on the right?")) assert_true(s.s[k].cx == hi_x);
            else if (!strcmp(q, "What is at the top?")) assert_true(s.s[k].cy == lo_y);
            else if (!strcmp(q, "What is at the bottom?")) assert_true(s.s[k].cy == hi_y);
            else {
                assert_string_equal(q, "What is in the middle?");
                assert_int_equal(s.n, 3);
                assert_int_equal(k, 1);
            }
        }
    }
}

static void test_unseen_split(void **state) {
    (void)state;
    /* every val scene's caption (its combination) is absent from many train scenes */
    enum { NT = 3000, NV = 200 };
    char(*train)[160] = malloc(sizeof *train * NT);
    for (int i = 0; i < NT; i++) {
        ts_scene s;
        ts_scene_make(11, (uint64_t)i, TS_SPLIT_TRAIN, &s);
        assert_int_equal(ts_scene_split(&s), TS_SPLIT_TRAIN);
        ts_scene_caption(&s, train[i], sizeof train[i]);
    }
    int distinct_val = 0;
    for (int i = 0; i < NV; i++) {
        ts_scene s;
        char c[160];
        ts_scene_make(11, (uint64_t)i, TS_SPLIT_VAL, &s);
        assert_int_equal(ts_scene_split(&s), TS_SPLIT_VAL);
        ts_scene_caption(&s, c, sizeof c);
        for (int j = 0; j < NT; j++)
            assert_string_not_equal(c, train[j]);
        distinct_val++;
    }
    assert_int_equal(distinct_val, NV);
    free(train);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_captions_exact),
        cmocka_unit_test(test_render_pixels),
        cmocka_unit_test(test_deterministic_and_varied),
        cmocka_unit_test(test_geometry_matches_caption),
        cmocka_unit_test(test_part_questions_match_geometry),
        cmocka_unit_test(test_unseen_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
