#!/bin/sh
# The cost of reading media in views (the default 9 per image, 4 per clip),
# two binaries side by side: typically this tree's build/tessera against an
# earlier commit's (`git worktree add /tmp/old REV && make -C /tmp/old`).
# Runs alternate between the binaries; each number is the median of 3:
#   - N held-out images (CIFAR-10 and MNIST) captioned in one batch, 1 and
#     2 threads
#   - ScienceQA val, the first 200 items, `eval` on 1 and 2 threads
#   - one `caption` and one `ask` about a 1-second clip from process start
#     (model load included), 1 thread
# Both binaries must print the same captions: a speed-up that changes the
# output is not one (checked, and reported on stderr). VIEWS=N
# (environment) passes --views N to every command.
#   bench/views_speed.sh BIN_A BIN_B [MODEL] [HELDOUT_DIR] [N]
set -e
[ $# -ge 2 ] || { echo "usage: bench/views_speed.sh BIN_A BIN_B [MODEL] [HELDOUT_DIR] [N]" >&2; exit 1; }
A=$1
B=$2
MODEL=${3:-models/tessera.gguf}
HELD=${4:-build/default-model/heldout}
N=${5:-300}
SQA=${SQA:-../shared/data/scienceqa/problems.json}
[ -s "$HELD/labels.tsv" ] || { echo "$HELD/labels.tsv: no held-out files (make model writes them)" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
awk -F '\t' '$1 == "cifar10" || $1 == "mnist" { print $2 }' "$HELD/labels.tsv" | head -n "$N" >"$TMP/imgs"
IMG=$(head -n 1 "$TMP/imgs")
CLIP=$(awk -F '\t' '$1 == "speech_commands" { print $2; exit }' "$HELD/labels.tsv")
NI=$(wc -l <"$TMP/imgs")

# seconds that "$@" takes
timed() {
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$t0 $t1" | awk '{ printf "%.4f\n", $2 - $1 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

caption_batch() { tr '\n' '\0' <"$TMP/imgs" | xargs -0 "$1" caption -m "$MODEL" -t "$2" ${VIEWS:+--views "$VIEWS"}; }
sqa() { "$1" eval "$SQA" --split val --limit 200 -m "$MODEL" -t "$2" -q ${VIEWS:+--views "$VIEWS"}; }
one_caption() { "$1" caption -m "$MODEL" -t 1 ${VIEWS:+--views "$VIEWS"} "$IMG"; }
one_ask() { "$1" ask -m "$MODEL" -t 1 ${VIEWS:+--views "$VIEWS"} "$CLIP" "What word is spoken?"; }

caption_batch "$A" 2 >"$TMP/cap_a"
caption_batch "$B" 2 >"$TMP/cap_b"
cmp -s "$TMP/cap_a" "$TMP/cap_b" || echo "views_speed: the two binaries caption differently" >&2

# one line per measurement: what, binary, seconds
for _ in 1 2 3; do
  for bin in A B; do
    if [ $bin = A ]; then exe=$A; else exe=$B; fi
    for t in 1 2; do
      echo "captions_t$t $bin $(timed caption_batch "$exe" $t)"
      [ -s "$SQA" ] && echo "sqa_t$t $bin $(timed sqa "$exe" $t)"
    done
    echo "caption_latency $bin $(timed one_caption "$exe")"
    echo "ask_latency $bin $(timed one_ask "$exe")"
  done
done >"$TMP/all"

for what in captions_t1 captions_t2 sqa_t1 sqa_t2 caption_latency ask_latency; do
  grep -q "^$what " "$TMP/all" || continue
  a=$(awk -v w="$what" '$1 == w && $2 == "A" { print $3 }' "$TMP/all" | median)
  b=$(awk -v w="$what" '$1 == w && $2 == "B" { print $3 }' "$TMP/all" | median)
  case $what in
    captions_*) unit="$NI captions" ;;
    sqa_*) unit="200 ScienceQA val items" ;;
    *) unit="from process start" ;;
  esac
  echo "$what ($unit): A $a s, B $b s, A/B = $(echo "$a $b" | awk '{ printf "%.2f", $1 / $2 }')x (medians of 3)"
done
