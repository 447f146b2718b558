#!/bin/sh
# Two models' speed side by side (typically the default model against the
# one it replaces), in ROUNDS rounds, each running model A and then model
# B through the latency and throughput part of bench/model_accuracy.sh and
# `tessera eval` on ScienceQA val (9 views and 1, 1 and 2 threads).
#   bench/models_speed.sh MODEL_A MODEL_B [HELDOUT_DIR] [ROUNDS]
set -e
[ $# -ge 2 ] || { echo "usage: bench/models_speed.sh MODEL_A MODEL_B [HELDOUT_DIR] [ROUNDS]" >&2; exit 1; }
HELD=${3:-build/default-model/heldout}
ROUNDS=${4:-2}
BIN=${TESSERA:-build/tessera}
SQA=${SQA:-../shared/data/scienceqa/problems.json}
DIR=$(dirname "$0")
r=1
while [ "$r" -le "$ROUNDS" ]; do
  for m in "$1" "$2"; do
    echo "== round $r: $m"
    ACCURACY=0 sh "$DIR/model_accuracy.sh" "$m" "$HELD"
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
done
