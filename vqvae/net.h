/* A small sequential convolutional network with residual adds: the shape of
 * every VQ-VAE encoder and decoder. Activations are CNHW (nn/conv2d.h); the
 * 1-D audio nets are the H = 1 case. Activation 0 is the input, activation
 * i + 1 the output of op i. */
#ifndef TESSERA_VQVAE_NET_H
#define TESSERA_VQVAE_NET_H

#include <stddef.h>

#include "nn/conv2d.h"

typedef enum { VQ_OP_CONV, VQ_OP_CONVT, VQ_OP_RELU, VQ_OP_ADD } vq_op_type;

typedef struct {
    vq_op_type type;
    ts_conv_shape cs; /* CONV / CONVT */
    int in;           /* input activation */
    int skip;         /* ADD: the second operand */
    size_t w_off, b_off, w_n; /* CONV / CONVT: offsets into the parameters */
    float init_gain;  /* std multiplier at initialisation */
} vq_op;

#define VQ_MAX_OPS 48

typedef struct {
    int n_ops;
    vq_op ops[VQ_MAX_OPS];
    int chans[VQ_MAX_OPS + 1]; /* channels of each activation */
    size_t p_off, n_params;    /* this net's slice of the model's parameters */
} vq_net;

/* Building (the last activation index is net->n_ops). Returns its index. */
void vq_net_init(vq_net *n, int cin, size_t p_off);
int vq_net_conv(vq_net *n, int in, int cout, int kh, int kw, int sh, int sw, int ph, int pw,
                float gain);
int vq_net_convT(vq_net *n, int in, int cout, int kh, int kw, int sh, int sw, int ph, int pw,
                 float gain);
int vq_net_relu(vq_net *n, int in);
int vq_net_add(vq_net *n, int a, int b);

/* The spatial size of activation i for an input of H x W. */
void vq_net_shapes(const vq_net *n, int H, int W, int *hs, int *ws);

/* Per-thread buffers for N inputs of H x W (grown as needed). */
typedef struct {
    int N, H, W;
    int hs[VQ_MAX_OPS + 1], ws[VQ_MAX_OPS + 1];
    float *act[VQ_MAX_OPS + 1];  /* act[0] is the caller's input */
    float *dact[VQ_MAX_OPS + 1]; /* gradients (only with train) */
    float *scratch, *tmp;
    float *mem;
    size_t cap;
} vq_ws;

int vq_ws_prepare(vq_ws *w, const vq_net *n, int N, int H, int W, int train); /* 0 on OOM */
void vq_ws_free(vq_ws *w);

/* Forward over x (Cin, N, H, W); returns the output activation (C, N, Ho, Wo)
 * inside ws. params is the whole model's parameter arena. */
float *vq_net_forward(const vq_net *n, const float *params, vq_ws *ws, const float *x);
/* Backward from dout (shape of the output); grads += (same layout as params).
 * Returns dx (Cin, N, H, W) inside ws, or NULL when need_dx is 0. */
float *vq_net_backward(const vq_net *n, const float *params, float *grads, vq_ws *ws,
                       const float *dout, int need_dx);

#endif
