/* The VQ part of a GGUF file: keys tessera.vq.* and tensors vq.*.
 *
 *   vq.codebook                       (K, D)
 *   vq.{img_enc,img_dec,aud_enc,aud_dec}.{i}.weight / .bias
 *
 * where i is the op's index in its network (vqvae/model.c builds the same
 * networks from the same keys), weights stored with ggml dims {kw, kh, in, out}
 * (conv: W (Cout, Cin, kh, kw) row-major). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vqvae/vq_internal.h"

static const char *const NET_NAMES[4] = {"img_enc", "img_dec", "aud_enc", "aud_dec"};

static const vq_net *net_at(const ts_vq *vq, int k) {
    const vq_net *nets[4] = {&vq->img_enc, &vq->img_dec, &vq->aud_enc, &vq->aud_dec};
    return nets[k];
}

ts_status ts_vq_add_to_gguf(const ts_vq *vq, ts_gguf_writer *w) {
    const ts_vq_config *c = &vq->cfg;
    ts_gguf_set_u32(w, "tessera.vq.codebook_size", (uint32_t)c->codebook_size);
    ts_gguf_set_u32(w, "tessera.vq.dim", (uint32_t)c->dim);
    ts_gguf_set_u32(w, "tessera.vq.downsample", TS_VQ_DOWN);
    /* what a consumer of the codes needs without building the nets */
    ts_gguf_set_u32(w, "tessera.vq.codes_per_image",
                    (uint32_t)(c->image_size / TS_VQ_DOWN) * (c->image_size / TS_VQ_DOWN));
    ts_gguf_set_u32(w, "tessera.vq.codes_per_second", 100 / TS_VQ_DOWN);
    ts_gguf_set_u32(w, "tessera.vq.image_size", (uint32_t)c->image_size);
    ts_gguf_set_u32(w, "tessera.vq.image_hidden", (uint32_t)c->image_hidden);
    ts_gguf_set_u32(w, "tessera.vq.image_res_blocks", (uint32_t)c->image_res_blocks);
    ts_gguf_set_u32(w, "tessera.vq.n_mels", (uint32_t)c->n_mels);
    ts_gguf_set_u32(w, "tessera.vq.audio_hidden", (uint32_t)c->audio_hidden);
    ts_gguf_set_u32(w, "tessera.vq.audio_res_blocks", (uint32_t)c->audio_res_blocks);
    ts_gguf_set_u32(w, "tessera.vq.audio_frames", (uint32_t)c->audio_frames);
    ts_gguf_set_f32(w, "tessera.vq.beta", c->beta);
    ts_gguf_set_f32(w, "tessera.vq.ema_decay", c->ema_decay);
    ts_gguf_set_f32(w, "tessera.vq.ema_eps", c->ema_eps);
    ts_gguf_set_f32(w, "tessera.vq.restart_threshold", c->restart_threshold);
    ts_status s = ts_gguf_add_tensor(w, "vq.codebook", TS_DTYPE_F32,
                                     (int64_t[]){c->dim, c->codebook_size}, 2, vq->codebook);
    char name[96];
    for (int k = 0; k < 4 && !s; k++) {
        const vq_net *n = net_at(vq, k);
        for (int i = 0; i < n->n_ops && !s; i++) {
            const vq_op *o = &n->ops[i];
            if (o->type != VQ_OP_CONV && o->type != VQ_OP_CONVT) continue;
            int a = o->type == VQ_OP_CONV ? o->cs.cin : o->cs.cout;
            int b = o->type == VQ_OP_CONV ? o->cs.cout : o->cs.cin;
            snprintf(name, sizeof name, "vq.%s.%d.weight", NET_NAMES[k], i);
            s = ts_gguf_add_tensor(w, name, TS_DTYPE_F32,
                                   (int64_t[]){o->cs.kw, o->cs.kh, a, b}, 4, vq->params + o->w_off);
            snprintf(name, sizeof name, "vq.%s.%d.bias", NET_NAMES[k], i);
            if (!s)
                s = ts_gguf_add_tensor(w, name, TS_DTYPE_F32, (int64_t[]){o->cs.cout}, 1,
                                       vq->params + o->b_off);
        }
    }
    return s;
}

static ts_status get_int(const ts_gguf *g, const char *name, const char *key, int *v) {
    uint32_t u;
    if (ts_gguf_get_u32(g, key, &u)) return ts_fail(TS_ERR_INPUT, "%s: %s", name, ts_last_error());
    if (u > (1u << 30)) return ts_fail(TS_ERR_INPUT, "%s: %s = %u is out of range", name, key, u);
    *v = (int)u;
    return TS_OK;
}

static ts_status get_f32(const ts_gguf *g, const char *name, const char *key, float *v) {
    if (ts_gguf_get_f32(g, key, v)) return ts_fail(TS_ERR_INPUT, "%s: %s", name, ts_last_error());
    return TS_OK;
}

static ts_status load_tensor(const ts_gguf *g, const char *name, const char *tname, float *dst,
                             int64_t n) {
    const ts_gguf_tensor *t = ts_gguf_find_tensor(g, tname);
    if (!t) return ts_fail(TS_ERR_INPUT, "%s: tensor %s is missing", name, tname);
    if (t->n_elements != n)
        return ts_fail(TS_ERR_INPUT, "%s: tensor %s has %lld elements, expected %lld", name, tname,
                       (long long)t->n_elements, (long long)n);
    if (ts_gguf_tensor_to_f32(t, dst, n))
        return ts_fail(TS_ERR_INPUT, "%s: %s", name, ts_last_error());
    return TS_OK;
}

ts_status ts_vq_from_gguf(const ts_gguf *g, const char *name, ts_vq **out) {
    *out = NULL;
    if (!name) name = "model";
    if (ts_gguf_find_key(g, "tessera.vq.codebook_size") < 0)
        return ts_fail(TS_ERR_INPUT, "%s: no VQ-VAE in this model (tessera.vq.* is missing)", name);
    ts_vq_config c = ts_vq_default_config();
    int down = 0;
    ts_status s;
    if ((s = get_int(g, name, "tessera.vq.codebook_size", &c.codebook_size)) ||
        (s = get_int(g, name, "tessera.vq.dim", &c.dim)) ||
        (s = get_int(g, name, "tessera.vq.downsample", &down)) ||
        (s = get_int(g, name, "tessera.vq.image_size", &c.image_size)) ||
        (s = get_int(g, name, "tessera.vq.image_hidden", &c.image_hidden)) ||
        (s = get_int(g, name, "tessera.vq.image_res_blocks", &c.image_res_blocks)) ||
        (s = get_int(g, name, "tessera.vq.n_mels", &c.n_mels)) ||
        (s = get_int(g, name, "tessera.vq.audio_hidden", &c.audio_hidden)) ||
        (s = get_int(g, name, "tessera.vq.audio_res_blocks", &c.audio_res_blocks)) ||
        (s = get_int(g, name, "tessera.vq.audio_frames", &c.audio_frames)) ||
        (s = get_f32(g, name, "tessera.vq.beta", &c.beta)) ||
        (s = get_f32(g, name, "tessera.vq.ema_decay", &c.ema_decay)) ||
        (s = get_f32(g, name, "tessera.vq.ema_eps", &c.ema_eps)) ||
        (s = get_f32(g, name, "tessera.vq.restart_threshold", &c.restart_threshold)))
        return s;
    if (down != TS_VQ_DOWN)
        return ts_fail(TS_ERR_INPUT, "%s: tessera.vq.downsample = %d, only %d is supported", name,
                       down, TS_VQ_DOWN);
    ts_vq *vq;
    /* every weight and code is read below: nothing to draw first */
    if (vq_alloc(&c, &vq)) return ts_fail(TS_ERR_INPUT, "%s: %s", name, ts_last_error());
    s = load_tensor(g, name, "vq.codebook", vq->codebook, (int64_t)c.codebook_size * c.dim);
    char tn[96];
    for (int k = 0; k < 4 && !s; k++) {
        const vq_net *n = net_at(vq, k);
        for (int i = 0; i < n->n_ops && !s; i++) {
            const vq_op *o = &n->ops[i];
            if (o->type != VQ_OP_CONV && o->type != VQ_OP_CONVT) continue;
            snprintf(tn, sizeof tn, "vq.%s.%d.weight", NET_NAMES[k], i);
            s = load_tensor(g, name, tn, vq->params + o->w_off, (int64_t)o->w_n);
            snprintf(tn, sizeof tn, "vq.%s.%d.bias", NET_NAMES[k], i);
            if (!s) s = load_tensor(g, name, tn, vq->params + o->b_off, o->cs.cout);
        }
    }
    if (s) {
        ts_vq_free(vq);
        return s;
    }
    *out = vq;
    return TS_OK;
}

ts_status ts_vq_load_file(const char *path, ts_vq **out) {
    ts_gguf *g;
    *out = NULL;
    ts_status s = ts_gguf_open(path, &g);
    if (s) return s;
    s = ts_vq_from_gguf(g, path, out);
    ts_gguf_close(g);
    return s;
}

ts_status ts_vq_save_file(const ts_vq *vq, const char *path) {
    ts_gguf_writer *w = ts_gguf_writer_new();
    if (!w) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    ts_gguf_set_str(w, "general.architecture", "tessera");
    ts_gguf_set_str(w, "general.name", "tessera VQ-VAE");
    ts_status s = ts_vq_add_to_gguf(vq, w);
    if (!s) s = ts_gguf_write(w, path);
    ts_gguf_writer_free(w);
    return s;
}
