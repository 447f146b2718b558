#!/bin/sh
# Two models' speed side by side (typically the default model against the
# one it replaces), in ROUNDS rounds, each running model A and then model
# B through the latency and throughput part of bench/model_accuracy.sh and
# `tessera eval` on ScienceQA val (9 views and 1, 1 and 2 threads; skipped
# when $SQA is missing). Prints every round's lines, then each model's
# medians over the rounds (bench/round_medians.awk).
#   bench/models_speed.sh MODEL_A MODEL_B [HELDOUT_DIR] [ROUNDS]
set -e
[ $# -ge 2 ] || { echo "usage: bench/models_speed.sh MODEL_A MODEL_B [HELDOUT_DIR] [ROUNDS]" >&2; exit 1; }
HELD=${3:-build/default-model/heldout}
ROUNDS=${4:-2}
BIN=${TESSERA:-build/tessera}
SQA=${SQA:-../shared/data/scienceqa/problems.json}
DIR=$(dirname "$0")
for m in "$1" "$2"; do [ -r "$m" ] || { echo "no model $m" >&2; exit 2; }; done
[ -s "$HELD/labels.tsv" ] || { echo "no $HELD/labels.tsv (run make model, or build-shards --export-val)" >&2; exit 2; }
ALL=$(mktemp)
trap 'rm -f "$ALL"' EXIT
r=1
while [ "$r" -le "$ROUNDS" ]; do
  for m in "$1" "$2"; do
    echo "== round $r: $m"
    ACCURACY=0 sh "$DIR/model_accuracy.sh" "$m" "$HELD"
    [ -s "$SQA" ] || continue
    for v in 9 1; do
      for t in 1 2; do
        t0=$(date +%s.%N)
        n=$("$BIN" eval "$SQA" --split val --views $v -t $t -m "$m" 2>/dev/null | awk '$1 == "all" { print $2 }')
        t1=$(date +%s.%N)
        echo "$t0 $t1 $v $t $n" | awk '{ printf "eval ScienceQA val (%d items), --views %d, -t %d: %.2f s, %.1f items/s\n", $5, $3, $4, $2 - $1, $5 / ($2 - $1) }'
      done
    done
  done
  r=$((r + 1))
done >"$ALL" # in this shell, so that set -e stops at a failed run
cat "$ALL"
awk -f "$DIR/round_medians.awk" "$ALL"
