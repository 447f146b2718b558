#!/bin/sh
# How long `tessera chat` takes to answer questions about one image: the
# default 9 views on 1 and 2 threads (the views of an answer run side by
# side on the threads) against one view, medians of 3 runs of N questions
# each, model load included.
#   bench/chat_views.sh [MODEL] [IMAGE] [N]
set -e
MODEL=${1:-models/tessera.gguf}
IMG=${2:-samples/cat.jpg}
N=${3:-40}
BIN=${TESSERA:-build/tessera}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
{ echo "/image $IMG"; i=0; while [ $i -lt "$N" ]; do echo "What is shown in the image?"; i=$((i + 1)); done; } >"$TMP/script"
median() { sort -n | sed -n 2p; }
for run in "9 1" "9 2" "1 1" "1 2"; do
  # shellcheck disable=SC2086 # two words: views, threads
  set -- $run
  for _ in 1 2 3; do
    t0=$(date +%s.%N)
    "$BIN" chat -m "$MODEL" -t "$2" --views "$1" <"$TMP/script" >/dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{ printf "%.3f\n", $2 - $1 }'
  done | median >"$TMP/t"
  echo "chat, $N answers, --views $1, -t $2: $(cat "$TMP/t") s (median of 3)"
done
