/* The decoder's configuration, parameter layout, initialisation and GGUF
 * load/save. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model_impl.h"
#include "nn/rope.h"

ts_model_config ts_model_config_default(int vocab_size) {
    return (ts_model_config){.vocab_size = vocab_size,
                             .d_model = 256,
                             .n_heads = 8,
                             .head_dim = 32,
                             .n_layers = 4,
                             .n_dense_layers = 1,
                             .ffn_hidden = 768,
                             .n_experts = 64,
                             .n_experts_used = 8,
                             .n_shared = 1,
                             .expert_hidden = 128,
                             .context = 512,
                             .tied_output = 1,
                             .rope_theta = 10000.0f,
                             .norm_eps = 1e-5f};
}

ts_status ts_model_config_check(const ts_model_config *c) {
#define NEED(cond, what) \
    if (!(cond)) return ts_fail(TS_ERR_USAGE, "model config: %s", what)
    NEED(c->vocab_size >= 2 && c->vocab_size <= (1 << 22), "vocab_size must be in [2, 4194304]");
    NEED(c->d_model >= 2 && c->d_model <= 16384, "d_model must be in [2, 16384]");
    NEED(c->n_heads >= 1 && c->n_heads <= 256, "n_heads must be in [1, 256]");
    NEED(c->head_dim >= 2 && c->head_dim % 2 == 0 && c->head_dim <= 1024,
         "head_dim must be even and in [2, 1024]");
    NEED(c->n_layers >= 1 && c->n_layers <= 256, "n_layers must be in [1, 256]");
    NEED(c->n_dense_layers >= 0 && c->n_dense_layers <= c->n_layers,
         "n_dense_layers must be in [0, n_layers]");
    NEED(c->n_dense_layers == c->n_layers || (c->n_experts >= 1 && c->n_experts <= TS_MOE_MAX_EXPERTS),
         "n_experts must be in [1, 256]");
    NEED(c->n_dense_layers == c->n_layers ||
             (c->n_experts_used >= 1 && c->n_experts_used <= c->n_experts),
         "n_experts_used must be in [1, n_experts]");
    NEED(c->n_shared == 0 || c->n_shared == 1, "n_shared must be 0 or 1");
    NEED(c->n_dense_layers == 0 || (c->ffn_hidden >= 1 && c->ffn_hidden <= 65536),
         "ffn_hidden must be in [1, 65536]");
    NEED(c->n_dense_layers == c->n_layers || (c->expert_hidden >= 1 && c->expert_hidden <= 65536),
         "expert_hidden must be in [1, 65536]");
    NEED(c->context >= 2 && c->context <= 65536, "context must be in [2, 65536]");
    NEED(c->rope_theta > 1.0f, "rope_theta must be > 1");
    NEED(c->norm_eps > 0.0f && c->norm_eps < 1.0f, "norm_eps must be in (0, 1)");
    NEED(c->image_grid >= 0 && c->image_grid <= 256 &&
             (c->image_grid == 0 || c->image_grid * c->image_grid < c->context),
         "image_grid must be in [0, 256], its square below context");
    NEED(c->image_grid == 0 || (c->image_token >= 0 && c->image_token < c->vocab_size),
         "image_token must be in [0, vocab_size)");
#define STR_(x) #x
#define STR(x) STR_(x)
    NEED(c->grid_mix == 0 ||
             (c->grid_mix >= 1 && c->grid_mix <= TS_GRID_MIX_MAX_REACH && c->image_grid > 0),
         "grid_mix must be 0, or in [1, " STR(TS_GRID_MIX_MAX_REACH) "] with an image_grid");
#undef STR
#undef STR_
#undef NEED
    return TS_OK;
}

ts_status ts_model_config_parse(ts_model_config *c, const char *spec) {
    struct {
        const char *name;
        int *ip;
        float *fp;
    } keys[] = {
        {"vocab_size", &c->vocab_size, NULL},
        {"d_model", &c->d_model, NULL},
        {"n_heads", &c->n_heads, NULL},
        {"head_dim", &c->head_dim, NULL},
        {"n_layers", &c->n_layers, NULL},
        {"n_dense_layers", &c->n_dense_layers, NULL},
        {"ffn_hidden", &c->ffn_hidden, NULL},
        {"n_experts", &c->n_experts, NULL},
        {"n_experts_used", &c->n_experts_used, NULL},
        {"n_shared", &c->n_shared, NULL},
        {"expert_hidden", &c->expert_hidden, NULL},
        {"context", &c->context, NULL},
        {"tied_output", &c->tied_output, NULL},
        {"rope_theta", NULL, &c->rope_theta},
        {"norm_eps", NULL, &c->norm_eps},
        {"image_grid", &c->image_grid, NULL},
        {"image_token", &c->image_token, NULL},
        {"grid_mix", &c->grid_mix, NULL},
    };
    const char *p = spec;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq) return ts_fail(TS_ERR_USAGE, "model config: '%.*s' is not key=value", (int)len, p);
        size_t klen = (size_t)(eq - p);
        char val[64];
        size_t vlen = len - klen - 1;
        if (vlen == 0 || vlen >= sizeof val)
            return ts_fail(TS_ERR_USAGE, "model config: bad value for '%.*s'", (int)klen, p);
        memcpy(val, eq + 1, vlen);
        val[vlen] = 0;
        size_t k = 0;
        for (; k < sizeof keys / sizeof *keys; k++)
            if (strlen(keys[k].name) == klen && !memcmp(keys[k].name, p, klen)) break;
        if (k == sizeof keys / sizeof *keys)
            return ts_fail(TS_ERR_USAGE, "model config: unknown key '%.*s'", (int)klen, p);
        char *e;
        if (keys[k].ip) {
            long v = strtol(val, &e, 10);
            if (*e || v < -1000000000L || v > 1000000000L)
                return ts_fail(TS_ERR_USAGE, "model config: bad integer '%s' for %s", val,
                               keys[k].name);
            *keys[k].ip = (int)v;
        } else {
            double v = strtod(val, &e);
            if (*e || !isfinite(v))
                return ts_fail(TS_ERR_USAGE, "model config: bad number '%s' for %s", val,
                               keys[k].name);
            *keys[k].fp = (float)v;
        }
        p = end ? end + 1 : NULL;
    }
    return TS_OK;
}

ts_moe_dims ts_model_moe_dims(const ts_model_config *c) {
    return (ts_moe_dims){c->d_model, c->n_experts, c->n_experts_used, c->expert_hidden};
}

/* ---- the parameter table ---------------------------------------------------- */

typedef struct {
    ts_param_info *info;
    int n, cap;
    size_t total;
} table;

static int add(table *t, const char *name, int n_dims, int64_t d0, int64_t d1, int64_t d2,
               bool decay, bool trained) {
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 64;
        ts_param_info *p = realloc(t->info, sizeof *p * (size_t)cap);
        if (!p) return -1;
        t->info = p, t->cap = cap;
    }
    ts_param_info *p = &t->info[t->n++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->n_dims = n_dims;
    p->dims[0] = d0, p->dims[1] = d1, p->dims[2] = d2;
    p->n = (size_t)d0 * (size_t)(n_dims > 1 ? d1 : 1) * (size_t)(n_dims > 2 ? d2 : 1);
    p->off = t->total;
    /* keep every tensor 64-byte aligned, except where tensors must stay
     * adjacent to form one fused matrix */
    t->total += p->n;
    p->decay = decay, p->trained = trained;
    return 0;
}

static void align(table *t) { t->total = (t->total + 15) & ~(size_t)15; }

static ts_status build_table(const ts_model_config *c, table *t) {
    const int64_t D = c->d_model, HD = (int64_t)c->n_heads * c->head_dim, H = c->n_heads;
    const int64_t F = c->ffn_hidden, E = c->n_experts, Fe = c->expert_hidden, V = c->vocab_size;
    char nm[64];
    int rc = 0;
    memset(t, 0, sizeof *t);
    rc |= add(t, "token_embd.weight", 2, D, V, 0, true, true);
    align(t);
    for (int l = 0; l < c->n_layers; l++) {
#define ADD(suffix, nd, a, b, cc, decay, trained)                               \
    do {                                                                        \
        snprintf(nm, sizeof nm, "blk.%d.%s", l, suffix);                        \
        rc |= add(t, nm, nd, a, b, cc, decay, trained);                         \
    } while (0)
        ADD("attn_norm.weight", 1, D, 0, 0, false, true);
        align(t);
        ADD("attn_q.weight", 2, D, HD, 0, true, true);
        ADD("attn_k.weight", 2, D, HD, 0, true, true);
        ADD("attn_v.weight", 2, D, HD, 0, true, true);
        ADD("attn_gate.weight", 2, D, H, 0, true, true);
        align(t);
        ADD("attn_gate.bias", 1, H, 0, 0, false, true);
        align(t);
        ADD("attn_output.weight", 2, HD, D, 0, true, true);
        align(t);
        ADD("ffn_norm.weight", 1, D, 0, 0, false, true);
        align(t);
        if (l < c->n_dense_layers) {
            ADD("ffn_gate.weight", 2, D, F, 0, true, true);
            ADD("ffn_up.weight", 2, D, F, 0, true, true);
            align(t);
            ADD("ffn_down.weight", 2, F, D, 0, true, true);
            align(t);
        } else {
            ADD("ffn_gate_inp.weight", 2, D, E, 0, true, true);
            align(t);
            ADD("exp_probs_b.bias", 1, E, 0, 0, false, false);
            align(t);
            ADD("ffn_gate_exps.weight", 3, D, Fe, E, true, true);
            align(t);
            ADD("ffn_up_exps.weight", 3, D, Fe, E, true, true);
            align(t);
            ADD("ffn_down_exps.weight", 3, Fe, D, E, true, true);
            align(t);
            if (c->n_shared) {
                ADD("ffn_gate_shexp.weight", 2, D, Fe, 0, true, true);
                ADD("ffn_up_shexp.weight", 2, D, Fe, 0, true, true);
                align(t);
                ADD("ffn_down_shexp.weight", 2, Fe, D, 0, true, true);
                align(t);
            }
        }
#undef ADD
    }
    rc |= add(t, "output_norm.weight", 1, D, 0, 0, false, true);
    align(t);
    if (!c->tied_output) {
        rc |= add(t, "output.weight", 2, D, V, 0, true, true);
        align(t);
    }
    if (c->grid_mix) { /* last: the other tensors keep their seeded values */
        rc |= add(t, "grid_mix.weight", 2, ts_grid_mix_width(c) * D, D, 0, true, true);
        align(t);
    }
    if (rc) {
        free(t->info);
        return ts_fail(TS_ERR_NOMEM, "model: out of memory");
    }
    return TS_OK;
}

static const ts_param_info *find_info(const ts_model *m, const char *name) {
    for (int i = 0; i < m->n_info; i++)
        if (!strcmp(m->info[i].name, name)) return &m->info[i];
    return NULL;
}

void ts_model_bind(const ts_model *m, float *base, ts_weights *w) {
    char nm[64];
#define AT(name) (base + find_info(m, name)->off)
#define LAT(suffix) (snprintf(nm, sizeof nm, "blk.%d.%s", l, suffix), AT(nm))
    w->tok_embd = AT("token_embd.weight");
    w->out_norm = AT("output_norm.weight");
    w->output = m->c.tied_output ? w->tok_embd : AT("output.weight");
    w->grid_mix = m->c.grid_mix ? AT("grid_mix.weight") : NULL;
    for (int l = 0; l < m->c.n_layers; l++) {
        ts_layer_w *L = &w->L[l];
        memset(L, 0, sizeof *L);
        L->attn_norm = LAT("attn_norm.weight");
        L->wqkvg = LAT("attn_q.weight");
        L->bgate = LAT("attn_gate.bias");
        L->wo = LAT("attn_output.weight");
        L->ffn_norm = LAT("ffn_norm.weight");
        L->moe = l >= m->c.n_dense_layers;
        if (!L->moe) {
            L->w13 = LAT("ffn_gate.weight");
            L->w2 = LAT("ffn_down.weight");
        } else {
            L->router = LAT("ffn_gate_inp.weight");
            L->rbias = LAT("exp_probs_b.bias");
            L->ew1 = LAT("ffn_gate_exps.weight");
            L->ew3 = LAT("ffn_up_exps.weight");
            L->ew2 = LAT("ffn_down_exps.weight");
            if (m->c.n_shared) {
                L->sw13 = LAT("ffn_gate_shexp.weight");
                L->sw2 = LAT("ffn_down_shexp.weight");
            }
        }
    }
#undef LAT
#undef AT
}

static ts_status model_alloc(const ts_model_config *c, ts_model **out) {
    ts_status s = ts_model_config_check(c);
    if (s) return s;
    /* the model's callers split the work over threads themselves (DESIGN.md:
     * OpenBLAS single-threaded inside the workers) */
    openblas_set_num_threads(1);
    ts_model *m = calloc(1, sizeof *m);
    if (!m) return ts_fail(TS_ERR_NOMEM, "model: out of memory");
    m->c = *c;
    table t;
    if ((s = build_table(c, &t))) {
        free(m);
        return s;
    }
    m->info = t.info, m->n_info = t.n, m->n_params = t.total;
    m->params = ts_alloc_floats(m->n_params);
    m->w.L = calloc((size_t)c->n_layers, sizeof *m->w.L);
    int half = c->head_dim / 2;
    m->rope_cos = ts_alloc_floats((size_t)c->context * half);
    m->rope_sin = ts_alloc_floats((size_t)c->context * half);
    if (!m->params || !m->w.L || !m->rope_cos || !m->rope_sin) {
        size_t n = m->n_params;
        ts_model_free(m);
        return ts_fail(TS_ERR_NOMEM, "model: out of memory for %zu parameters", n);
    }
    memset(m->params, 0, sizeof(float) * m->n_params);
    ts_model_bind(m, m->params, &m->w);
    ts_rope_table(m->rope_cos, m->rope_sin, c->context, c->head_dim, c->rope_theta);
    *out = m;
    return TS_OK;
}

ts_status ts_model_new(const ts_model_config *c, uint64_t seed, ts_model **out) {
    ts_model *m;
    ts_status s = model_alloc(c, &m);
    if (s) return s;
    ts_rng rng;
    ts_rng_seed(&rng, seed);
    /* matrices N(0, 0.02); projections back into the residual stream scaled
     * by 1/sqrt(2·layers) (GPT-2); norms 1; gate bias +2 (heads open) */
    float resid = 0.02f / sqrtf(2.0f * (float)c->n_layers);
    for (int i = 0; i < m->n_info; i++) {
        const ts_param_info *p = &m->info[i];
        float *w = m->params + p->off;
        const char *nm = p->name;
        if (strstr(nm, "norm.weight")) {
            for (size_t j = 0; j < p->n; j++) w[j] = 1.0f;
        } else if (strstr(nm, "attn_gate.bias")) {
            for (size_t j = 0; j < p->n; j++) w[j] = 2.0f;
        } else if (!p->decay) {
            for (size_t j = 0; j < p->n; j++) w[j] = 0.0f;
        } else {
            bool out_proj = strstr(nm, "attn_output") || strstr(nm, "ffn_down");
            float sd = out_proj ? resid : 0.02f;
            for (size_t j = 0; j < p->n; j++) w[j] = sd * ts_rng_normal(&rng);
        }
    }
    *out = m;
    return TS_OK;
}

void ts_model_free(ts_model *m) {
    if (!m) return;
    free(m->params);
    free(m->info);
    free(m->w.L);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m);
}

const ts_model_config *ts_model_get_config(const ts_model *m) { return &m->c; }

int64_t ts_model_n_params(const ts_model *m) {
    int64_t n = 0;
    for (int i = 0; i < m->n_info; i++) n += (int64_t)m->info[i].n;
    return n;
}

int64_t ts_model_n_active_params(const ts_model *m) {
    const ts_model_config *c = &m->c;
    int64_t n = 0;
    for (int i = 0; i < m->n_info; i++) {
        const ts_param_info *p = &m->info[i];
        if (strstr(p->name, "_exps."))
            n += (int64_t)p->n / c->n_experts * c->n_experts_used;
        else
            n += (int64_t)p->n;
    }
    return n;
}

/* ---- GGUF ---------------------------------------------------------------------- */

#define KEYS(X)                                                  \
    X("tessera.vocab_size", vocab_size)                          \
    X("tessera.embedding_length", d_model)                       \
    X("tessera.attention.head_count", n_heads)                   \
    X("tessera.attention.key_length", head_dim)                  \
    X("tessera.block_count", n_layers)                           \
    X("tessera.leading_dense_block_count", n_dense_layers)       \
    X("tessera.feed_forward_length", ffn_hidden)                 \
    X("tessera.expert_count", n_experts)                         \
    X("tessera.expert_used_count", n_experts_used)               \
    X("tessera.expert_shared_count", n_shared)                   \
    X("tessera.expert_feed_forward_length", expert_hidden)       \
    X("tessera.context_length", context)

ts_status ts_model_add_to_gguf(const ts_model *m, ts_gguf_writer *w) {
    return ts_model_add_to_gguf_as(m, w, TS_DTYPE_F32);
}

ts_status ts_model_add_to_gguf_as(const ts_model *m, ts_gguf_writer *w, ts_dtype dtype) {
    ts_gguf_set_str(w, "general.architecture", "tessera");
#define PUT(key, field) ts_gguf_set_u32(w, key, (uint32_t)m->c.field);
    KEYS(PUT)
#undef PUT
    ts_gguf_set_bool(w, "tessera.tied_output", m->c.tied_output != 0);
    ts_gguf_set_f32(w, "tessera.rope.freq_base", m->c.rope_theta);
    ts_gguf_set_f32(w, "tessera.attention.layer_norm_rms_epsilon", m->c.norm_eps);
    if (m->c.image_grid) { /* absent: 1-D positions, as models from before 2-D RoPE */
        ts_gguf_set_u32(w, "tessera.rope.image_grid", (uint32_t)m->c.image_grid);
        ts_gguf_set_u32(w, "tessera.rope.image_token_id", (uint32_t)m->c.image_token);
    }
    if (m->c.grid_mix) ts_gguf_set_bool(w, "tessera.image_grid_mix", true);
    if (m->c.grid_mix > 1) /* absent: reach 1, as files from before the key */
        ts_gguf_set_u32(w, "tessera.image_grid_mix_reach", (uint32_t)m->c.grid_mix);
    for (int i = 0; i < m->n_info; i++) {
        const ts_param_info *p = &m->info[i];
        ts_dtype dt = p->n_dims >= 2 ? dtype : TS_DTYPE_F32;
        if (dt == TS_DTYPE_Q8_0 && p->dims[0] % 32) dt = TS_DTYPE_F16;
        ts_status s = ts_gguf_add_tensor(w, p->name, dt, p->dims, p->n_dims, m->params + p->off);
        if (s) return s;
    }
    return TS_OK;
}

ts_status ts_model_save(const ts_model *m, const char *path) {
    ts_gguf_writer *w = ts_gguf_writer_new();
    if (!w) return ts_fail(TS_ERR_NOMEM, "%s: out of memory", path);
    ts_status s = ts_model_add_to_gguf(m, w);
    if (!s) s = ts_gguf_write(w, path);
    ts_gguf_writer_free(w);
    return s;
}

ts_status ts_model_load_gguf(const ts_gguf *g, const char *path, ts_model **out) {
    ts_model_config c;
    memset(&c, 0, sizeof c);
    uint32_t u;
    ts_status s;
    const char *arch;
    if (ts_gguf_get_str(g, "general.architecture", &arch) || strcmp(arch, "tessera"))
        return ts_fail(TS_ERR_INPUT, "%s: not a tessera model (general.architecture)", path);
#define GET(key, field)                                                           \
    if ((s = ts_gguf_get_u32(g, key, &u)))                                        \
        return ts_fail(TS_ERR_INPUT, "%s: the decoder is missing (key %s)", path, key); \
    if (u > (1u << 30)) return ts_fail(TS_ERR_INPUT, "%s: %s out of range", path, key); \
    c.field = (int)u;
    KEYS(GET)
#undef GET
    bool tied;
    if (ts_gguf_get_bool(g, "tessera.tied_output", &tied) ||
        ts_gguf_get_f32(g, "tessera.rope.freq_base", &c.rope_theta) ||
        ts_gguf_get_f32(g, "tessera.attention.layer_norm_rms_epsilon", &c.norm_eps))
        return ts_fail(TS_ERR_INPUT, "%s: decoder keys: %s", path, ts_last_error());
    c.tied_output = tied;
    if (ts_gguf_find_key(g, "tessera.rope.image_grid") >= 0) {
        uint32_t grid, img;
        if (ts_gguf_get_u32(g, "tessera.rope.image_grid", &grid) ||
            ts_gguf_get_u32(g, "tessera.rope.image_token_id", &img))
            return ts_fail(TS_ERR_INPUT, "%s: decoder keys: %s", path, ts_last_error());
        if (grid > 256 || img > (1u << 22))
            return ts_fail(TS_ERR_INPUT, "%s: tessera.rope.image_* out of range", path);
        c.image_grid = (int)grid, c.image_token = (int)img;
    }
    if (ts_gguf_find_key(g, "tessera.image_grid_mix") >= 0) {
        bool mix;
        if (ts_gguf_get_bool(g, "tessera.image_grid_mix", &mix))
            return ts_fail(TS_ERR_INPUT, "%s: decoder keys: %s", path, ts_last_error());
        c.grid_mix = mix;
    }
    if (c.grid_mix && ts_gguf_find_key(g, "tessera.image_grid_mix_reach") >= 0) {
        uint32_t reach;
        if (ts_gguf_get_u32(g, "tessera.image_grid_mix_reach", &reach))
            return ts_fail(TS_ERR_INPUT, "%s: decoder keys: %s", path, ts_last_error());
        /* out of range: refused by the check below */
        c.grid_mix = reach > TS_GRID_MIX_MAX_REACH ? TS_GRID_MIX_MAX_REACH + 1 : (int)reach;
    }
    if (ts_model_config_check(&c))
        return ts_fail(TS_ERR_INPUT, "%s: bad decoder sizes: %s", path, ts_last_error());
    ts_model *m;
    if ((s = model_alloc(&c, &m))) return s;
    for (int i = 0; i < m->n_info; i++) {
        const ts_param_info *p = &m->info[i];
        const ts_gguf_tensor *t = ts_gguf_find_tensor(g, p->name);
        if (!t) {
            ts_model_free(m);
            return ts_fail(TS_ERR_INPUT, "%s: tensor %s is missing", path, p->name);
        }
        bool ok = t->n_dims == p->n_dims;
        for (int d = 0; ok && d < p->n_dims; d++) ok = t->dims[d] == p->dims[d];
        if (!ok || (size_t)t->n_elements != p->n) {
            ts_model_free(m);
            return ts_fail(TS_ERR_INPUT, "%s: tensor %s has the wrong shape", path, p->name);
        }
        if ((s = ts_gguf_tensor_to_f32(t, m->params + p->off, (int64_t)p->n))) {
            ts_model_free(m);
            return ts_fail(s, "%s: tensor %s: %s", path, p->name, ts_last_error());
        }
    }
    *out = m;
    return TS_OK;
}

ts_status ts_model_load(const char *path, ts_model **out) {
    ts_gguf *g;
    ts_status s = ts_gguf_open(path, &g);
    if (s) return s;
    s = ts_model_load_gguf(g, path, out);
    ts_gguf_close(g);
    return s;
}
