#!/usr/bin/python3
"""PyTorch peer of tessera's decoder training step (bench/run_decoder.sh).

The same architecture and config as model/ (DESIGN.md "The decoder"): tied
embeddings, RMSNorm, RoPE, causal attention with DRA head gates
(straight-through), a dense SwiGLU first block, then MoE blocks with 64
routed SwiGLU experts (top-8 of sigmoid affinity + bias, mixing by the
renormalised unbiased affinities, gather -> matmul -> index_add per expert)
and one shared expert; cross-entropy + sequence-level balance loss + gate
penalty; AdamW with decoupled decay on matrices, global-norm clipping.
Prints "peer_train_tokens_per_s X" (median step time over --steps steps).
With --decode N: batch-1 greedy decoding of N tokens with a KV cache under
torch.inference_mode (every head computed, as tessera without DRA skipping;
the routed experts of each token as matrix-vector products), printed as
"peer_decode_tokens_per_s X" (median of 3 runs).

usage: OPENBLAS_NUM_THREADS=1 python3 bench/peer_decoder.py --threads N [--steps S] [--decode N]
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Cfg:
    vocab = 4096 + 9 + 1024
    d = 256
    heads = 8
    hd = 32
    layers = 4
    dense = 1
    ffn = 768
    experts = 64
    used = 8
    eh = 128
    theta = 10000.0
    lam = 0.05
    alpha = 1e-4


class RMSNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.w


def rope(x, cos, sin):  # x (B, H, T, hd), adjacent pairs
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2)


class Attn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.qkvg = nn.Linear(c.d, 3 * c.heads * c.hd + c.heads, bias=False)
        self.bg = nn.Parameter(torch.full((c.heads,), 2.0))
        self.o = nn.Linear(c.heads * c.hd, c.d, bias=False)

    def forward(self, x, cos, sin):
        c = self.c
        B, T, _ = x.shape
        HD = c.heads * c.hd
        y = self.qkvg(x)
        q, k, v = (y[..., i * HD:(i + 1) * HD].view(B, T, c.heads, c.hd).transpose(1, 2)
                   for i in range(3))
        g = torch.sigmoid(y[..., 3 * HD:] + self.bg)  # (B, T, H)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(c.hd))
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        a = (att @ v).transpose(1, 2)  # B T H hd
        open_ = (g > 0.5).float()
        m = g + (g * open_ - g).detach()  # g·[g>0.5] forward, straight-through backward
        a = a * m.unsqueeze(-1)
        return self.o(a.reshape(B, T, HD)), g


class SwiGLU(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.w13 = nn.Linear(d, 2 * h, bias=False)
        self.w2 = nn.Linear(h, d, bias=False)

    def forward(self, x):
        a, b = self.w13(x).chunk(2, dim=-1)
        return self.w2(F.silu(a) * b)


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.router = nn.Linear(c.d, c.experts, bias=False)
        self.register_buffer("bias", torch.zeros(c.experts))
        self.w1 = nn.Parameter(torch.randn(c.experts, c.eh, c.d) * 0.02)
        self.w3 = nn.Parameter(torch.randn(c.experts, c.eh, c.d) * 0.02)
        self.w2 = nn.Parameter(torch.randn(c.experts, c.d, c.eh) * 0.02)
        self.shared = SwiGLU(c.d, c.eh)

    def forward(self, x):
        c = self.c
        B, T, D = x.shape
        u = x.reshape(-1, D)
        s = torch.sigmoid(self.router(u))  # (N, E)
        sel = torch.topk(s + self.bias, c.used, dim=-1).indices  # (N, K)
        ss = s.gather(1, sel)
        gw = ss / ss.sum(-1, keepdim=True)
        out = self.shared(u)
        flat = sel.reshape(-1)
        tok = torch.arange(u.shape[0]).repeat_interleave(c.used)
        order = torch.argsort(flat, stable=True)
        counts = torch.bincount(flat, minlength=c.experts).tolist()
        gws = gw.reshape(-1)[order]
        toks = tok[order]
        start = 0
        for e, n in enumerate(counts):
            if n == 0:
                continue
            t = toks[start:start + n]
            xe = u.index_select(0, t)
            h = F.silu(xe @ self.w1[e].t()) * (xe @ self.w3[e].t())
            ye = (h @ self.w2[e].t()) * gws[start:start + n].unsqueeze(1)
            out = out.index_add(0, t, ye)
            start += n
        # sequence-level balance loss
        f = torch.zeros(B, c.experts)
        f.scatter_add_(1, sel.view(B, T * c.used), torch.ones(B, T * c.used))
        f = f * c.experts / (c.used * T)
        p = (s / s.sum(-1, keepdim=True)).view(B, T, -1).mean(1)
        bal = (f * p).sum(-1).mean()
        return out.view(B, T, D), bal, counts


class Block(nn.Module):
    def __init__(self, c, moe):
        super().__init__()
        self.n1, self.n2 = RMSNorm(c.d), RMSNorm(c.d)
        self.attn = Attn(c)
        self.moe = moe
        self.ffn = MoE(c) if moe else SwiGLU(c.d, c.ffn)

    def forward(self, x, cos, sin):
        a, g = self.attn(self.n1(x), cos, sin)
        x = x + a
        if self.moe:
            f, bal, counts = self.ffn(self.n2(x))
        else:
            f, bal, counts = self.ffn(self.n2(x)), 0.0, None
        return x + f, g, bal, counts


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.emb = nn.Embedding(c.vocab, c.d)
        nn.init.normal_(self.emb.weight, std=0.02)
        self.blocks = nn.ModuleList(Block(c, i >= c.dense) for i in range(c.layers))
        self.norm = RMSNorm(c.d)

    def forward(self, idx, tgt):
        c = self.c
        B, T = idx.shape
        pos = torch.arange(T, dtype=torch.float32)
        inv = c.theta ** (-torch.arange(0, c.hd, 2, dtype=torch.float32) / c.hd)
        ang = pos[:, None] * inv[None, :]
        cos, sin = ang.cos(), ang.sin()
        x = self.emb(idx)
        gates, aux, loads = [], 0.0, []
        for b in self.blocks:
            x, g, bal, counts = b(x, cos, sin)
            gates.append(g)
            aux = aux + c.alpha * bal
            if counts is not None:
                loads.append(counts)
        logits = self.norm(x) @ self.emb.weight.t()
        ce = F.cross_entropy(logits.view(-1, c.vocab), tgt.reshape(-1))
        pen = c.lam * torch.stack([g.mean() for g in gates]).mean()
        return ce + aux + pen, ce, loads


@torch.inference_mode()
def decode(m, n):
    """Greedy batch-1 decoding of n tokens with a KV cache; returns tokens/s."""
    c = m.c
    H, hd, HD = c.heads, c.hd, c.heads * c.hd
    inv = c.theta ** (-torch.arange(0, hd, 2, dtype=torch.float32) / hd)
    scale = 1.0 / math.sqrt(hd)
    emb = m.emb.weight
    kc = [torch.zeros(H, n, hd) for _ in m.blocks]
    vc = [torch.zeros(H, n, hd) for _ in m.blocks]
    tok = 1
    t0 = time.perf_counter()
    for pos in range(n):
        ang = pos * inv
        cos, sin = ang.cos(), ang.sin()
        x = emb[tok]
        for li, b in enumerate(m.blocks):
            y = b.attn.qkvg(b.n1(x))
            q, k, v = y[:HD].view(H, hd), y[HD:2 * HD].view(H, hd), y[2 * HD:3 * HD].view(H, hd)
            g = torch.sigmoid(y[3 * HD:] + b.attn.bg)
            kc[li][:, pos] = rope(k, cos, sin)
            vc[li][:, pos] = v
            q = rope(q, cos, sin)
            p = ((kc[li][:, :pos + 1] @ q.unsqueeze(-1)).squeeze(-1) * scale).softmax(-1)
            a = (p.unsqueeze(1) @ vc[li][:, :pos + 1]).squeeze(1) * (g * (g > 0.5)).unsqueeze(-1)
            x = x + b.attn.o(a.reshape(HD))
            u = b.n2(x)
            if b.moe:
                f = b.ffn
                s = torch.sigmoid(f.router(u))
                sel = torch.topk(s + f.bias, c.used).indices
                gw = s[sel] / s[sel].sum()
                out = f.shared(u)
                for e, w in zip(sel.tolist(), gw):
                    out = out + w * (f.w2[e] @ (F.silu(f.w1[e] @ u) * (f.w3[e] @ u)))
            else:
                out = b.ffn(u)
            x = x + out
        tok = int((m.norm(x) @ emb.t()).argmax())
    return n / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--decode", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = Cfg()
    m = Model(c)
    decay = [p for n, p in m.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in m.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    print(f"peer_torch {torch.__version__} threads {torch.get_num_threads()}")
    if a.decode > 0:
        rates = sorted(decode(m, a.decode) for _ in range(3))
        print(f"peer_decode_tokens_per_s {rates[1]:.1f}")
    if a.steps <= 0:
        return
    times = []
    for step in range(a.steps + 1):  # one warm-up step
        idx = torch.randint(0, 4096, (a.batch, a.seq + 1))
        t0 = time.perf_counter()
        loss, ce, loads = m(idx[:, :-1], idx[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        with torch.no_grad():  # the router-bias sign rule
            for blk, counts in zip([b for b in m.blocks if b.moe], loads):
                load = torch.tensor(counts, dtype=torch.float32)
                blk.ffn.bias += 1e-3 * torch.sign(load.mean() - load)
        if step > 0:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2] if len(times) % 2 else 0.5 * (times[len(times) // 2 - 1] + times[len(times) // 2])
    print(f"peer_params {sum(p.numel() for p in m.parameters())}")
    print(f"peer_train_step_s {med:.4f}")
    print(f"peer_train_tokens_per_s {a.batch * a.seq / med:.1f}")


if __name__ == "__main__":
    main()
