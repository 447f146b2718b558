#!/bin/sh
# Multimodal decoder training speed (`tessera train-mm` on real shards),
# this build against another binary (e.g. one built before a change), side
# by side: tokens/s of STEPS optimiser steps, the two alternating so that a
# busy machine slows both alike; medians of REPS runs and the ratio
# new / old. Also checks that both reach the same loss (same data, seed and
# thread count: the numbers must agree).
#
# usage: bench/run_train_mm.sh OLD_BINARY SHARD_DIR [STEPS] [REPS] [THREADS]
#   SHARD_DIR: a `make model` output folder (shards/, tokenizer.gguf,
#   vq.gguf), e.g. build/default-model; defaults: 40 steps, 3 runs, 2 threads.
set -e
cd "$(dirname "$0")/.."
USAGE="usage: bench/run_train_mm.sh OLD_BINARY SHARD_DIR [STEPS] [REPS] [THREADS]"
OLD=${1:?$USAGE}
DIR=${2:?$USAGE}
STEPS=${3:-40}
REPS=${4:-3}
THREADS=${5:-2}
CONFIG=${CONFIG:-d_model=128,n_heads=4,head_dim=32,n_layers=4,ffn_hidden=384,n_experts=16,n_experts_used=4,expert_hidden=128,context=512}
NEW=build/tessera
[ -x "$NEW" ] || make -s -j2 "$NEW" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# "train-mm: N steps, loss L, val loss V, T tokens/s, S s" -> "T L"
run() {
    "$1" train-mm --shards "$DIR/shards" --tokenizer "$DIR/tokenizer.gguf" --vq "$DIR/vq.gguf" \
        -o "$tmp/m.gguf" --steps "$STEPS" --eval-every 100000 --config "$CONFIG" -t "$THREADS" 2>&1 |
        tr '\r' '\n' | sed -n 's/^train-mm: .* loss \([0-9.]*\), val loss .*, \([0-9]*\) tokens\/s.*/\2 \1/p'
}
median() { sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
r=1
while [ "$r" -le "$REPS" ]; do
    o=$(run "$OLD")
    n=$(run "$NEW")
    echo "run $r: old $o, new $n (tokens/s loss)" >&2
    echo "$o" | cut -d' ' -f1 >>"$tmp/old"
    echo "$n" | cut -d' ' -f1 >>"$tmp/new"
    echo "$o" | cut -d' ' -f2 >>"$tmp/old.loss"
    echo "$n" | cut -d' ' -f2 >>"$tmp/new.loss"
    r=$((r + 1))
done
mo=$(median <"$tmp/old")
mn=$(median <"$tmp/new")
same="same losses"
cmp -s "$tmp/old.loss" "$tmp/new.loss" || same="LOSSES DIFFER"
printf 'train-mm on %s, %s steps of 8 x 256, %s thread(s), median of %s runs\n' "$DIR" "$STEPS" "$THREADS" "$REPS"
printf '%-40s %12s\n' binary "tokens/s"
printf '%-40s %12.0f\n' "$OLD" "$mo" "$NEW" "$mn"
awk -v o="$mo" -v n="$mn" -v s="$same" 'BEGIN {printf "ratio new / old: %.2fx (%s)\n", n / o, s}'
