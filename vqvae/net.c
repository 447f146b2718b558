#include "vqvae/net.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nn/activation.h"
#include "tessera/core.h"

void vq_net_init(vq_net *n, int cin, size_t p_off) {
    memset(n, 0, sizeof *n);
    n->chans[0] = cin;
    n->p_off = p_off;
}

static int push(vq_net *n, vq_op op, int cout) {
    /* the nets are built from fixed configurations: overflow is a bug */
    if (n->n_ops >= VQ_MAX_OPS) return n->n_ops;
    n->ops[n->n_ops] = op;
    n->chans[n->n_ops + 1] = cout;
    return ++n->n_ops;
}

static int add_conv(vq_net *n, vq_op_type t, int in, int cout, int kh, int kw, int sh, int sw,
                    int ph, int pw, float gain) {
    vq_op op = {.type = t, .in = in, .init_gain = gain};
    op.cs = (ts_conv_shape){.cin = n->chans[in], .cout = cout, .kh = kh, .kw = kw, .sh = sh,
                            .sw = sw, .ph = ph, .pw = pw};
    op.w_n = (size_t)op.cs.cin * cout * kh * kw;
    op.w_off = n->p_off + n->n_params;
    op.b_off = op.w_off + op.w_n;
    n->n_params += op.w_n + (size_t)cout;
    return push(n, op, cout);
}

int vq_net_conv(vq_net *n, int in, int cout, int kh, int kw, int sh, int sw, int ph, int pw,
                float gain) {
    return add_conv(n, VQ_OP_CONV, in, cout, kh, kw, sh, sw, ph, pw, gain);
}
int vq_net_convT(vq_net *n, int in, int cout, int kh, int kw, int sh, int sw, int ph, int pw,
                 float gain) {
    return add_conv(n, VQ_OP_CONVT, in, cout, kh, kw, sh, sw, ph, pw, gain);
}
int vq_net_relu(vq_net *n, int in) {
    return push(n, (vq_op){.type = VQ_OP_RELU, .in = in}, n->chans[in]);
}
int vq_net_add(vq_net *n, int a, int b) {
    return push(n, (vq_op){.type = VQ_OP_ADD, .in = a, .skip = b}, n->chans[a]);
}

void vq_net_shapes(const vq_net *n, int H, int W, int *hs, int *ws) {
    hs[0] = H, ws[0] = W;
    for (int i = 0; i < n->n_ops; i++) {
        const vq_op *o = &n->ops[i];
        int h = hs[o->in], w = ws[o->in];
        if (o->type == VQ_OP_CONV)
            h = ts_conv_out(h, o->cs.kh, o->cs.sh, o->cs.ph),
            w = ts_conv_out(w, o->cs.kw, o->cs.sw, o->cs.pw);
        else if (o->type == VQ_OP_CONVT)
            h = ts_convT_out(h, o->cs.kh, o->cs.sh, o->cs.ph),
            w = ts_convT_out(w, o->cs.kw, o->cs.sw, o->cs.pw);
        hs[i + 1] = h, ws[i + 1] = w;
    }
}

static size_t act_size(const vq_net *n, const vq_ws *w, int i) {
    return (size_t)n->chans[i] * w->N * w->hs[i] * w->ws[i];
}

static size_t round16(size_t x) { return (x + 15) & ~(size_t)15; }

int vq_ws_prepare(vq_ws *w, const vq_net *n, int N, int H, int W, int train) {
    w->N = N, w->H = H, w->W = W;
    vq_net_shapes(n, H, W, w->hs, w->ws);
    size_t total = 0, scratch = 0, maxact = 0;
    for (int i = 0; i <= n->n_ops; i++) {
        size_t a = round16(act_size(n, w, i));
        if (a > maxact) maxact = a;
        if (i > 0) total += a;
        if (train) total += a;
    }
    for (int i = 0; i < n->n_ops; i++) {
        const vq_op *o = &n->ops[i];
        size_t s = 0;
        if (o->type == VQ_OP_CONV) s = ts_conv2d_scratch(&o->cs, N, w->hs[o->in], w->ws[o->in]);
        if (o->type == VQ_OP_CONVT) s = ts_convT2d_scratch(&o->cs, N, w->hs[o->in], w->ws[o->in]);
        if (s > scratch) scratch = s;
    }
    scratch = round16(scratch);
    total += scratch + (train ? maxact : 0);
    if (total > w->cap) {
        free(w->mem);
        w->mem = ts_alloc_floats(total);
        w->cap = w->mem ? total : 0;
        if (!w->mem) return 0;
    }
    float *p = w->mem;
    w->act[0] = NULL;
    for (int i = 0; i <= n->n_ops; i++) {
        size_t a = round16(act_size(n, w, i));
        if (i > 0) w->act[i] = p, p += a;
        w->dact[i] = NULL;
        if (train) w->dact[i] = p, p += a;
    }
    w->scratch = p, p += scratch;
    w->tmp = train ? p : NULL;
    return 1;
}

void vq_ws_free(vq_ws *w) {
    free(w->mem);
    memset(w, 0, sizeof *w);
}

float *vq_net_forward(const vq_net *n, const float *params, vq_ws *ws, const float *x) {
    ws->act[0] = (float *)x;
    for (int i = 0; i < n->n_ops; i++) {
        const vq_op *o = &n->ops[i];
        const float *in = ws->act[o->in];
        float *out = ws->act[i + 1];
        int H = ws->hs[o->in], W = ws->ws[o->in];
        switch (o->type) {
        case VQ_OP_CONV:
            ts_conv2d_forward(out, in, params + o->w_off, params + o->b_off, &o->cs, ws->N, H, W,
                              ws->scratch);
            break;
        case VQ_OP_CONVT:
            ts_convT2d_forward(out, in, params + o->w_off, params + o->b_off, &o->cs, ws->N, H, W,
                               ws->scratch);
            break;
        case VQ_OP_RELU: ts_relu_forward(out, in, act_size(n, ws, i + 1)); break;
        case VQ_OP_ADD: {
            const float *b = ws->act[o->skip];
            size_t m = act_size(n, ws, i + 1);
            for (size_t j = 0; j < m; j++) out[j] = in[j] + b[j];
            break;
        }
        }
    }
    return ws->act[n->n_ops];
}

static void acc(float *dst, const float *src, size_t m) {
    for (size_t j = 0; j < m; j++) dst[j] += src[j];
}

/* Gradients flow back op by op. The first op to reach an activation writes
 * its gradient (no zeroing pass); later ones (residual branches) add to it. */
float *vq_net_backward(const vq_net *n, const float *params, float *grads, vq_ws *ws,
                       const float *dout, int need_dx) {
    bool ready[VQ_MAX_OPS + 1] = {false};
    for (int i = n->n_ops - 1; i >= 0; i--) {
        const vq_op *o = &n->ops[i];
        /* an activation nothing consumed has no gradient: its op adds nothing */
        if (i + 1 < n->n_ops && !ready[i + 1]) continue;
        const float *dy = i + 1 == n->n_ops ? dout : ws->dact[i + 1], *in = ws->act[o->in];
        float *dx = ws->dact[o->in];
        size_t m_in = act_size(n, ws, o->in);
        bool first = !ready[o->in];
        int want_dx = o->in > 0 || need_dx;
        int H = ws->hs[o->in], W = ws->ws[o->in];
        switch (o->type) {
        case VQ_OP_CONV:
        case VQ_OP_CONVT: {
            float *out = !want_dx ? NULL : first ? dx : ws->tmp;
            if (o->type == VQ_OP_CONV)
                ts_conv2d_backward(out, grads + o->w_off, grads + o->b_off, dy, in,
                                   params + o->w_off, &o->cs, ws->N, H, W, ws->scratch);
            else
                ts_convT2d_backward(out, grads + o->w_off, grads + o->b_off, dy, in,
                                    params + o->w_off, &o->cs, ws->N, H, W, ws->scratch);
            if (want_dx && !first) acc(dx, ws->tmp, m_in);
            break;
        }
        case VQ_OP_RELU:
            if (first)
                for (size_t j = 0; j < m_in; j++) dx[j] = in[j] > 0.0f ? dy[j] : 0.0f;
            else
                for (size_t j = 0; j < m_in; j++) dx[j] += in[j] > 0.0f ? dy[j] : 0.0f;
            break;
        case VQ_OP_ADD: {
            if (first)
                memcpy(dx, dy, m_in * sizeof *dx);
            else
                acc(dx, dy, m_in);
            float *ds = ws->dact[o->skip];
            if (!ready[o->skip])
                memcpy(ds, dy, m_in * sizeof *ds);
            else
                acc(ds, dy, m_in);
            ready[o->skip] = true;
            break;
        }
        }
        ready[o->in] = true;
    }
    if (!need_dx) return NULL;
    if (!ready[0]) memset(ws->dact[0], 0, act_size(n, ws, 0) * sizeof(float));
    return ws->dact[0];
}
