#include "nn/conv1d.h"

#include "nn/conv2d.h"

static ts_conv_shape as2d(const ts_conv1d_shape *s) {
    return (ts_conv_shape){.cin = s->cin, .cout = s->cout, .kh = 1, .kw = s->k, .sh = 1,
                           .sw = s->stride, .ph = 0, .pw = s->pad};
}

size_t ts_conv1d_scratch(const ts_conv1d_shape *s, int N, int T) {
    ts_conv_shape c = as2d(s);
    return ts_conv2d_scratch(&c, N, 1, T);
}
size_t ts_convT1d_scratch(const ts_conv1d_shape *s, int N, int T) {
    ts_conv_shape c = as2d(s);
    return ts_convT2d_scratch(&c, N, 1, T);
}
int ts_conv1d_out(const ts_conv1d_shape *s, int T) { return ts_conv_out(T, s->k, s->stride, s->pad); }
int ts_convT1d_out(const ts_conv1d_shape *s, int T) {
    return ts_convT_out(T, s->k, s->stride, s->pad);
}

void ts_conv1d_forward(float *y, const float *x, const float *w, const float *b,
                       const ts_conv1d_shape *s, int N, int T, float *scratch) {
    ts_conv_shape c = as2d(s);
    ts_conv2d_forward(y, x, w, b, &c, N, 1, T, scratch);
}
void ts_conv1d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                        const float *w, const ts_conv1d_shape *s, int N, int T, float *scratch) {
    ts_conv_shape c = as2d(s);
    ts_conv2d_backward(dx, dw, db, dy, x, w, &c, N, 1, T, scratch);
}
void ts_convT1d_forward(float *y, const float *x, const float *w, const float *b,
                        const ts_conv1d_shape *s, int N, int T, float *scratch) {
    ts_conv_shape c = as2d(s);
    ts_convT2d_forward(y, x, w, b, &c, N, 1, T, scratch);
}
void ts_convT1d_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                         const float *w, const ts_conv1d_shape *s, int N, int T, float *scratch) {
    ts_conv_shape c = as2d(s);
    ts_convT2d_backward(dx, dw, db, dy, x, w, &c, N, 1, T, scratch);
}
