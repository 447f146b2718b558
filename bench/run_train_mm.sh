#!/bin/sh
# Multimodal decoder training speed (`tessera train-mm` on real shards),
# this build against another binary (e.g. one built before a change), side
# by side: tokens/s and answer tokens/s (the targets the loss counts) of
# STEPS optimiser steps, the two alternating so that a busy machine slows
# both alike; medians of REPS runs and the ratios new / old. With the same
# shards both must reach the same loss (same data, seed and thread count).
#
# usage: bench/run_train_mm.sh OLD_BINARY SHARD_DIR [STEPS] [REPS] [THREADS]
#   SHARD_DIR: a `make model` output folder (shards/, tokenizer.gguf,
#   vq.gguf), e.g. build/default-model; defaults: 40 steps, 3 runs, 2 threads.
#   OLD_DIR=DIR: the old binary trains on DIR's shards instead (a change in
#   how shards are written); then the losses differ. OLD_FLAGS, NEW_FLAGS:
#   train-mm options for each side (e.g. the cost of a recipe switch, one
#   binary twice: OLD_FLAGS="--tie-codes --rope-2d" NEW_FLAGS="$OLD_FLAGS
#   --grid-mix" bench/run_train_mm.sh build/tessera DIR).
set -e
cd "$(dirname "$0")/.."
USAGE="usage: bench/run_train_mm.sh OLD_BINARY SHARD_DIR [STEPS] [REPS] [THREADS]"
OLD=${1:?$USAGE}
DIR=${2:?$USAGE}
OLD_DIR=${OLD_DIR:-$DIR}
STEPS=${3:-40}
REPS=${4:-3}
THREADS=${5:-2}
CONFIG=${CONFIG:-d_model=128,n_heads=4,head_dim=32,n_layers=4,ffn_hidden=384,n_experts=16,n_experts_used=4,expert_hidden=128,context=512}
NEW=build/tessera
[ -x "$NEW" ] || make -s -j2 "$NEW" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the last progress line's "N answer tok/s" and the summary
# "train-mm: N steps, loss L, val loss V, T tokens/s ..." -> "T A L"
run() { # BINARY DIR FLAGS
    # shellcheck disable=SC2086 # FLAGS is a list of options
    "$1" train-mm --shards "$2/shards" --tokenizer "$2/tokenizer.gguf" --vq "$2/vq.gguf" \
        -o "$tmp/m.gguf" --steps "$STEPS" --eval-every 100000 --config "$CONFIG" -t "$THREADS" $3 2>&1 |
        tr '\r' '\n' | awk '/answer tok\/s/ { a = $0; sub(/ answer tok\/s.*/, "", a); sub(/.*\| /, "", a) }
          /^train-mm: .* tokens\/s/ { l = $0; sub(/.*steps, loss /, "", l); sub(/,.*/, "", l)
            t = $0; sub(/ tokens\/s.*/, "", t); sub(/.*, /, "", t); print t, a, l }'
}
median() { sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
r=1
while [ "$r" -le "$REPS" ]; do
    o=$(run "$OLD" "$OLD_DIR" "${OLD_FLAGS:-}")
    n=$(run "$NEW" "$DIR" "${NEW_FLAGS:-}")
    echo "run $r: old $o, new $n (tokens/s answer-tokens/s loss)" >&2
    for k in 1 2 3; do
        echo "$o" | cut -d' ' -f$k >>"$tmp/old.$k"
        echo "$n" | cut -d' ' -f$k >>"$tmp/new.$k"
    done
    r=$((r + 1))
done
same="same losses"
cmp -s "$tmp/old.3" "$tmp/new.3" || same="losses differ"
mo=$(median <"$tmp/old.1") ma=$(median <"$tmp/old.2")
no=$(median <"$tmp/new.1") na=$(median <"$tmp/new.2")
printf 'train-mm, %s steps of 8 x 256, %s thread(s), median of %s runs; new on %s, old on %s\n' \
    "$STEPS" "$THREADS" "$REPS" "$DIR" "$OLD_DIR"
printf '%-40s %12s %16s\n' binary "tokens/s" "answer tokens/s"
printf '%-40s %12.0f %16.0f\n' "$OLD ${OLD_FLAGS:-}" "$mo" "$ma" "$NEW ${NEW_FLAGS:-}" "$no" "$na"
awk -v o="$mo" -v n="$no" -v oa="$ma" -v na="$na" -v s="$same" \
    'BEGIN {printf "ratio new / old: %.2fx tokens/s, %.2fx answer tokens/s (%s)\n", n / o, na / oa, s}'
