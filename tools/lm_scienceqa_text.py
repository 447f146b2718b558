#!/usr/bin/env python3
"""Writes the ScienceQA text the decoder trains on: one document per problem
(question, options, answer, solution) plus each distinct lecture once, split
by pid_splits.json (train -> TRAIN.txt, val -> VAL.txt). Documents are
separated by blank lines (what `tessera train` splits on).

usage: tools/lm_scienceqa_text.py DATA_DIR TRAIN.txt VAL.txt
"""
import json
import re
import sys


def clean(s):
    # blank lines would split a document: keep single newlines only
    return re.sub(r"\n\s*\n+", "\n", s.strip())


def docs_for(pids, problems):
    lectures, out = {}, []
    for pid in pids:
        p = problems.get(pid)
        if p is None:
            continue
        opts = "\n".join(f"({chr(65 + i)}) {c}" for i, c in enumerate(p["choices"]))
        parts = [f"Question: {p['question']}"]
        if p.get("hint"):
            parts.append(f"Context: {p['hint']}")
        parts += [opts, f"Answer: {p['choices'][p['answer']]}"]
        if p.get("solution") or "":
            parts.append(p["solution"])
        out.append(clean("\n".join(parts)))
        lec = (p.get("lecture") or "").strip()
        if lec and lec not in lectures:
            lectures[lec] = True
            out.append(clean(lec))
    return out


def main():
    data, train_path, val_path = sys.argv[1:4]
    problems = json.load(open(f"{data}/problems.json"))
    splits = json.load(open(f"{data}/pid_splits.json"))
    for split, path in (("train", train_path), ("val", val_path)):
        docs = docs_for(splits[split], problems)
        with open(path, "w") as f:
            f.write("\n\n".join(docs) + "\n")
        print(f"{split}: {len(docs)} documents, {sum(map(len, docs))} bytes -> {path}",
              file=sys.stderr)


if __name__ == "__main__":
    main()
