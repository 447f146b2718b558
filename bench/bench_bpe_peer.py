#!/usr/bin/python3
"""Peer for bench_bpe: OpenAI's GPT-2 encoder.py algorithm (regex pre-split,
lowest-rank merging per word, a word cache) in plain Python, with tessera's
pre-split rules (include/tessera/text.h) and the merges bench_bpe learned.

usage: bench_bpe_peer.py CORPUS MERGES RUNS
prints: n_tokens fnv1a64_of_ids median_seconds (cold cache each run)
"""
import re
import statistics
import sys
import time

SYM_U = "\u0080-\u00bf\u00d7\u00f7\u2000-\u2bff\u3000-\u303f\ufe30-\ufe4f\uff01-\uff0f\U0001f000-\U0001faff"
L = f"(?:[A-Za-z]|[^\\x00-\\x7f{SYM_U}])"
SYM = f"[\\x00-\\x08\\x0e-\\x1f!-/:-@\\[-`{{-\\x7f{SYM_U}]"
SPLIT = re.compile(f"\\n| ?{L}+|[0-9]+| ?{SYM}+|[ \\t\\r\\v\\f]+(?= (?:{L}|{SYM}))|[ \\t\\r\\v\\f]+")


def load_ranks(path):
    ranks = {}
    with open(path) as f:
        for r, line in enumerate(f):
            a, b = line.split()
            ranks[(int(a), int(b))] = r
    return ranks


def encode(text, ranks):
    cache = {}
    out = []
    inf = float("inf")
    for word in SPLIT.findall(text):
        ids = cache.get(word)
        if ids is None:
            syms = list(word.encode("utf-8"))
            while len(syms) > 1:
                best = min(zip(syms, syms[1:]), key=lambda p: ranks.get(p, inf))
                r = ranks.get(best)
                if r is None:
                    break
                a, b = best
                new, i, n = [], 0, len(syms)
                while i < n:
                    if i + 1 < n and syms[i] == a and syms[i + 1] == b:
                        new.append(256 + r)
                        i += 2
                    else:
                        new.append(syms[i])
                        i += 1
                syms = new
            ids = cache[word] = syms
        out.extend(ids)
    return out


def main():
    corpus, merges, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(corpus, encoding="utf-8") as f:
        text = f.read()
    ranks = load_ranks(merges)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        ids = encode(text, ranks)
        times.append(time.perf_counter() - t0)
    h = 1469598103934665603
    for i in ids:
        h = ((h ^ i) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    print(len(ids), h, statistics.median(times))


if __name__ == "__main__":
    main()
