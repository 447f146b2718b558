#!/usr/bin/python3
"""How much of each task do the VQ-VAE's codes carry? A probe, not a test.

Reads the shards, tokenizer and VQ-VAE of a `make model` build (OUT holds
shards/, tokenizer.gguf, vq.gguf), takes the records of one task from the
training shard and its held-out records from the val shard (MNIST: the t10k
files; CIFAR-10: test.tar; FSDD: speaker theo; speech commands: the held-out
speakers), and trains a small CNN on the codes alone to name the answer: 3
convolutions over the 8 x 8 grid (images) or over time (audio), pooled, then
a linear layer. Two ways to embed a code:

  learned  a free 64-float row per code (as the decoder's token embeddings)
  frozen   the code's VQ codebook vector, fixed (the first convolution is
           then a learned linear map of it, as train-mm --tie-codes)

Prints the held-out accuracy after each epoch. The accuracy says what a
small model trained on this task alone can read from the codes: an estimate
of the ceiling the codes put on the decoder, which also shares its steps
with every other task.

usage: /usr/bin/python3 bench/code_probe.py OUT TASK [EPOCHS] [THREADS]
  TASK: mnist, cifar10, fsdd or speech_commands
"""
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn

PROMPTS = {  # the task's question in the corpus, and the medium
    "mnist": ("Which digit is this?", "img"),
    "cifar10": ("What is in the image?", "img"),
    "fsdd": ("Which digit is spoken?", "aud"),
    "speech_commands": ("What word is spoken?", "aud"),
}


def gguf(path):
    """The tokenizer's pieces and the f32 tensors of a GGUF file."""
    d = open(path, "rb").read()
    o = 0

    def take(fmt):
        nonlocal o
        v = struct.unpack_from(fmt, d, o)
        o += struct.calcsize(fmt)
        return v[0]

    def string():
        nonlocal o
        n = take("<Q")
        o += n
        return d[o - n:o]

    sizes = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

    def value(t):
        nonlocal o
        if t == 8:
            return string()
        if t == 9:
            et, n = take("<I"), take("<Q")
            return [value(et) for _ in range(n)]
        o += sizes[t]
        return d[o - sizes[t]:o]

    assert d[:4] == b"GGUF", path
    o = 8
    n_tensors, n_kv = take("<Q"), take("<Q")
    kv = {}
    for _ in range(n_kv):
        k = string().decode()
        kv[k] = value(take("<I"))
    align = struct.unpack("<I", kv["general.alignment"])[0] if "general.alignment" in kv else 32
    info = []
    for _ in range(n_tensors):
        name = string().decode()
        dims = [take("<Q") for _ in range(take("<I"))]
        info.append((name, dims, take("<I"), take("<Q")))
    base = o + (-o) % align
    tensors = {name: np.frombuffer(d, "<f4", int(np.prod(dims)), base + off).reshape(dims[::-1])
               for name, dims, ty, off in info if ty == 0}
    return kv, tensors


def records(path):
    """(tokens, mask) of every record of a shard (fusion/shard.c)."""
    d = np.fromfile(path, dtype=np.uint8)
    assert d[:7].tobytes() == b"TSSHARD", path
    o = 32
    for _ in range(int(d[16:24].view("<u8")[0])):
        n = int(d[o:o + 4].view("<u4")[0])
        t = d[o + 4:o + 4 + 4 * n].view("<i4")
        m = d[o + 4 + 4 * n:o + 4 + 5 * n]
        o += 4 + 5 * n
        o += (-o) % 4
        yield t, m


def task_items(path, pieces, n_text, prompt, kind):
    """The codes and answer of every record that asks `prompt` about one medium."""
    bos, img, aud, user, asst = (n_text + i for i in (0, 3, 5, 7, 8))
    code_base = n_text + 9
    text = lambda ids: b"".join(pieces[i] for i in ids).decode("utf8", "replace").replace("\u0120", " ")
    open_tok = img if kind == "img" else aud
    X, Y = [], []
    for t, m in records(path):
        t = t.tolist()
        if open_tok not in t or user not in t or asst not in t:
            continue
        if text(t[t.index(user) + 1:t.index(asst)]) != prompt:
            continue
        i = t.index(open_tok)
        X.append(np.array(t[i + 1:t.index(open_tok + 1)]) - code_base)
        Y.append(text([x for x, k in zip(t, m) if k][:-1]).strip())  # without <eos>
    return X, Y


class Probe(nn.Module):
    def __init__(self, codebook, frozen, image, n_classes):
        super().__init__()
        K, dim = codebook.shape
        self.image = image
        self.emb = nn.Embedding(K + 1, dim)  # K: padding
        if frozen:
            with torch.no_grad():
                self.emb.weight[:K] = codebook
                self.emb.weight[K] = 0
            self.emb.weight.requires_grad = False
        C = nn.Conv2d if image else nn.Conv1d
        self.net = nn.Sequential(C(dim, 128, 3, padding=1), nn.GELU(), C(128, 128, 3, padding=1),
                                 nn.GELU(), C(128, 128, 3, padding=1), nn.GELU())
        self.fc = nn.Linear(128, n_classes)

    def forward(self, x):
        e = self.emb(x).transpose(1, 2)
        if self.image:
            e = e.reshape(e.shape[0], e.shape[1], 8, 8)
        h = self.net(e).flatten(2)
        return self.fc(h.mean(2) if self.image else h.amax(2))


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in PROMPTS:
        sys.exit(__doc__)
    out, task = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    torch.set_num_threads(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
    kv, _ = gguf(f"{out}/tokenizer.gguf")
    pieces = kv["tokenizer.ggml.tokens"]
    # a tokenizer file lists the text tokens and 9 specials; a whole model's
    # lists the codes too and says where the text ends
    count = kv.get("tessera.vocab.text_count")
    n_text = struct.unpack("<I", count)[0] if count else len(pieces) - 9
    codebook = torch.tensor(gguf(f"{out}/vq.gguf")[1]["vq.codebook"].copy())
    K = codebook.shape[0]
    prompt, kind = PROMPTS[task]
    Xtr, Ytr = task_items(f"{out}/shards/train.shard", pieces, n_text, prompt, kind)
    Xva, Yva = task_items(f"{out}/shards/val.shard", pieces, n_text, prompt, kind)
    classes = sorted(set(Ytr))
    index = {c: i for i, c in enumerate(classes)}
    held = [(x, y) for x, y in zip(Xva, Yva) if y in index]
    print(f"{task}: {len(Xtr)} training records, {len(held)} held out, {len(classes)} answers")
    L = max(len(x) for x in Xtr + Xva)

    def pad(X):
        a = np.full((len(X), L), K)
        for i, x in enumerate(X):
            a[i, :len(x)] = x
        return torch.tensor(a)

    xtr, ytr = pad(Xtr), torch.tensor([index[y] for y in Ytr])
    xva, yva = pad([x for x, _ in held]), torch.tensor([index[y] for _, y in held])
    for mode in ("learned", "frozen"):
        torch.manual_seed(0)
        net = Probe(codebook, mode == "frozen", kind == "img", len(classes))
        opt = torch.optim.AdamW([p for p in net.parameters() if p.requires_grad], lr=2e-3,
                                weight_decay=0.05)
        t0 = time.time()
        for epoch in range(epochs):
            net.train()
            for b in torch.randperm(len(xtr)).split(128):
                loss = nn.functional.cross_entropy(net(xtr[b]), ytr[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                acc = (net(xva).argmax(1) == yva).float().mean().item() * 100
            print(f"{task} {mode:7s} epoch {epoch + 1}: held-out accuracy {acc:.1f} % "
                  f"({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
