/* Generated scenes: one to three shapes (circle, square, triangle) in six
 * colours and two sizes, placed alone, side by side, one above the other, or
 * three in a row or column, rendered to 32 x 32 RGB with 4 x 4 supersampling,
 * and described by a compositional caption that names shapes left to right
 * (or top to bottom), so each picture has exactly one caption. A scene's combination (shapes,
 * colours, sizes, relation) decides its split, so the validation scenes are
 * combinations the training scenes never show. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tessera/pipeline.h"

#define SIDE 32
#define SUB 4 /* supersampling per axis */

static const char *const shape_names[TS_N_SHAPES] = {"circle", "square", "triangle"};
static const char *const colour_names[TS_N_COLOURS] = {"red",    "green",  "blue",
                                                       "yellow", "purple", "orange"};
static const uint8_t colour_rgb[TS_N_COLOURS][3] = {{220, 40, 40},  {40, 180, 60},
                                                    {50, 90, 230},  {235, 215, 40},
                                                    {150, 60, 190}, {245, 140, 30}};

const char *ts_shape_name(int shape) {
    return shape >= 0 && shape < TS_N_SHAPES ? shape_names[shape] : NULL;
}
const char *ts_colour_name(int colour) {
    return colour >= 0 && colour < TS_N_COLOURS ? colour_names[colour] : NULL;
}

static uint64_t mix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

int ts_scene_split(const ts_scene *sc) {
    uint64_t key = (uint64_t)sc->n * 16 + (uint64_t)sc->relation;
    for (int i = 0; i < sc->n; i++)
        key = key * 64 + (uint64_t)(sc->s[i].shape * 12 + sc->s[i].colour * 2 + sc->s[i].large);
    /* one combination in eight is held out */
    return mix64(key) % 8 == 0 ? TS_SPLIT_VAL : TS_SPLIT_TRAIN;
}

static float uniform(ts_rng *r, float lo, float hi) { return lo + (hi - lo) * ts_rng_uniform(r); }

/* Radius of a shape by size and crowding (n shapes share the 32 pixels).
 * Small shapes stay at least 3 px: the VQ-VAE sees a scene through a 4 x 4
 * downsampling, and at 2.4-2.8 px the shape word of a 3-shape scene's
 * position was right only two times in three.
 * Three large shapes in a row (centres 9.5 px apart at least) never touch. */
static float radius(ts_rng *r, int n, int large) {
    static const float lo[3][2] = {{4.0f, 8.0f}, {3.5f, 5.5f}, {3.0f, 4.3f}};
    static const float hi[3][2] = {{5.5f, 11.0f}, {4.5f, 7.0f}, {3.4f, 4.7f}};
    return uniform(r, lo[n - 1][large], hi[n - 1][large]);
}

/* Two shapes: whether they stand side by side, and the slot of shape i
 * (0 left or top, 1 right or bottom); shape 0 is first for LEFT/ABOVE. */
static bool horizontal(int relation) {
    return relation == TS_REL_LEFT || relation == TS_REL_RIGHT;
}
static int pair_slot(int relation, int i) {
    bool first = relation == TS_REL_LEFT || relation == TS_REL_ABOVE;
    return (i == 0) == first ? 0 : 1;
}

static void draw_scene(ts_rng *r, ts_scene *sc) {
    memset(sc, 0, sizeof *sc);
    sc->n = 1 + (int)ts_rng_below(r, 3);
    for (int i = 0; i < sc->n; i++) {
        ts_scene_shape *s = &sc->s[i];
        s->shape = (int)ts_rng_below(r, TS_N_SHAPES);
        s->colour = (int)ts_rng_below(r, TS_N_COLOURS);
        s->large = (int)ts_rng_below(r, 2);
        s->r = radius(r, sc->n, s->large);
    }
    if (sc->n == 2) {
        /* two neighbours must differ so the caption tells them apart */
        while (sc->s[1].shape == sc->s[0].shape && sc->s[1].colour == sc->s[0].colour &&
               sc->s[1].large == sc->s[0].large)
            sc->s[1].colour = (int)ts_rng_below(r, TS_N_COLOURS);
    }
    if (sc->n == 1) {
        ts_scene_shape *s = &sc->s[0];
        sc->relation = TS_REL_NONE;
        s->cx = uniform(r, s->r + 1, SIDE - 1 - s->r);
        s->cy = uniform(r, s->r + 1, SIDE - 1 - s->r);
    } else if (sc->n == 2) {
        /* one caption per picture: the left (or top) shape is always named
         * first, so "A to the left of B" never has the twin "B to the right
         * of A" and an exact caption is well defined */
        sc->relation = ts_rng_below(r, 2) ? TS_REL_ABOVE : TS_REL_LEFT;
        bool horiz = horizontal(sc->relation);
        float across = uniform(r, 11, 21);
        for (int i = 0; i < 2; i++) {
            ts_scene_shape *s = &sc->s[i];
            int slot = pair_slot(sc->relation, i);
            /* each in its own half, so the two never overlap */
            float along = slot == 0 ? uniform(r, s->r + 1, fmaxf(s->r + 1, 16.5f - s->r))
                                    : uniform(r, fminf(SIDE - 1 - s->r, 15.5f + s->r), SIDE - 1 - s->r);
            float off = across + uniform(r, -2, 2);
            if (off < s->r + 1) off = s->r + 1;
            if (off > SIDE - 1 - s->r) off = SIDE - 1 - s->r;
            s->cx = horiz ? along : off;
            s->cy = horiz ? off : along;
        }
    } else {
        sc->relation = ts_rng_below(r, 2) ? TS_REL_COLUMN : TS_REL_ROW;
        float across = uniform(r, 11, 21);
        for (int i = 0; i < 3; i++) {
            ts_scene_shape *s = &sc->s[i];
            float along = 5.5f + 10.5f * (float)i + uniform(r, -0.5f, 0.5f);
            float off = across + uniform(r, -2, 2);
            if (off < s->r + 1) off = s->r + 1;
            if (off > SIDE - 1 - s->r) off = SIDE - 1 - s->r;
            s->cx = sc->relation == TS_REL_ROW ? along : off;
            s->cy = sc->relation == TS_REL_ROW ? off : along;
        }
    }
}

void ts_scene_make(uint64_t seed, uint64_t index, int split, ts_scene *out) {
    ts_rng r;
    ts_rng_seed(&r, mix64(seed) ^ mix64(index * 2 + (uint64_t)(split != 0)));
    /* rejection: about one draw in eight is val, seven in eight train */
    do
        draw_scene(&r, out);
    while (ts_scene_split(out) != (split != 0));
}

static int put_shape(char *buf, size_t cap, const ts_scene_shape *s) {
    return snprintf(buf, cap, "a %s %s %s", s->large ? "large" : "small", colour_names[s->colour],
                    shape_names[s->shape]);
}

int ts_scene_caption(const ts_scene *sc, char *buf, size_t cap) {
    char a[3][48];
    for (int i = 0; i < sc->n && i < 3; i++)
        put_shape(a[i], sizeof a[i], &sc->s[i]);
    static const char *const rel[] = {"", "to the left of", "to the right of", "above", "below"};
    int len;
    if (sc->n == 1)
        len = snprintf(buf, cap, "%s", a[0]);
    else if (sc->n == 2)
        len = snprintf(buf, cap, "%s %s %s", a[0], rel[sc->relation], a[1]);
    else
        len = snprintf(buf, cap, "%s, %s and %s from %s", a[0], a[1], a[2],
                       sc->relation == TS_REL_ROW ? "left to right" : "top to bottom");
    if (len < 0) len = 0;
    if (cap && (size_t)len >= cap) len = (int)cap - 1;
    return len;
}

bool ts_scene_part_question(const ts_scene *sc, int i, char *q, size_t qcap, char *a,
                            size_t acap) {
    if (sc->n < 2 || i < 0 || i >= sc->n) return false;
    static const char *const where[] = {"on the left", "on the right", "at the top", "at the bottom",
                                        "in the middle"};
    int w;
    if (sc->n == 3) {
        w = i == 1 ? 4 : (sc->relation == TS_REL_ROW ? 0 : 2) + (i == 2);
    } else {
        w = (horizontal(sc->relation) ? 0 : 2) + pair_slot(sc->relation, i);
    }
    snprintf(q, qcap, "What is %s?", where[w]);
    put_shape(a, acap, &sc->s[i]);
    return true;
}

static bool inside(const ts_scene_shape *s, float x, float y) {
    float dx = x - s->cx, dy = y - s->cy;
    switch (s->shape) {
    case TS_SHAPE_CIRCLE:
        return dx * dx + dy * dy <= s->r * s->r;
    case TS_SHAPE_SQUARE: {
        float h = 0.85f * s->r;
        return fabsf(dx) <= h && fabsf(dy) <= h;
    }
    default: {
        /* upward triangle: apex at (0, -r), base at y = r/2 (circumradius r) */
        float h = 0.866f * s->r;
        if (dy > 0.5f * s->r) return false;
        float t = (dy + s->r) / (1.5f * s->r); /* 0 at the apex, 1 at the base */
        return t >= 0 && fabsf(dx) <= t * h;
    }
    }
}

void ts_scene_render(const ts_scene *sc, uint8_t *rgb) {
    /* the background is a dark grey fixed by the shapes, so pixels depend on
     * the scene alone */
    const float bg = 24.0f + (float)((sc->s[0].colour * 7 + sc->n * 3) % 12);
    for (int y = 0; y < SIDE; y++)
        for (int x = 0; x < SIDE; x++) {
            float acc[3] = {0, 0, 0};
            for (int sy = 0; sy < SUB; sy++)
                for (int sx = 0; sx < SUB; sx++) {
                    float px = (float)x + ((float)sx + 0.5f) / SUB;
                    float py = (float)y + ((float)sy + 0.5f) / SUB;
                    int top = -1;
                    for (int i = 0; i < sc->n; i++)
                        if (inside(&sc->s[i], px, py)) top = i;
                    for (int c = 0; c < 3; c++)
                        acc[c] += top < 0 ? bg : colour_rgb[sc->s[top].colour][c];
                }
            for (int c = 0; c < 3; c++)
                rgb[((size_t)y * SIDE + x) * 3 + c] = (uint8_t)lrintf(acc[c] / (SUB * SUB));
        }
}
