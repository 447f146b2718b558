#!/bin/sh
# Accuracy of `tessera caption` / `tessera ask` on the held-out set written
# by `make model` (build-shards --export-val: MNIST and CIFAR-10 test files,
# unseen scene combinations, val beep clips, FSDD's held-out speaker,
# speech-commands val speakers), then latency and caption throughput.
#   bench/model_accuracy.sh [MODEL] [HELDOUT_DIR] [N_PER_TASK]
# An answer counts when the class word (or digit) appears in it as a word;
# scenes need the exact caption (also counted by number of shapes), and
# each position of a 2- or 3-shape scene is asked about on its own. Audio
# questions run through one `tessera chat` process fed on stdin (one model
# load for the whole task). VIEWS=N (environment) passes --views N (else
# the commands' default: 9 views of an image, 4 of a clip). SPEED=0 skips
# latency and throughput (measured with 9 views and with 1); ACCURACY=0
# skips the accuracy tasks.
set -e
# shellcheck source=bench/heldout.sh
. "$(dirname "$0")/heldout.sh"
N=${3:-1000}

# score TASK: answers in $TMP/ans (one per line) against $TMP/exp
score() {
  paste -d '\t' "$TMP/exp" "$TMP/ans" | awk -F '\t' -v task="$1" -v exact="$2" '
    BEGIN { split("zero one two three four five six seven eight nine", w, " ")
            for (i = 1; i <= 10; i++) { d2w[i - 1] = w[i]; w2d[w[i]] = i - 1 } }
    { e = tolower($1); a = tolower($2); ok = 0
      if (exact) ok = (a == e)
      else {
        gsub(/[^a-z0-9 ]/, " ", a); n = split(a, t, " ")
        for (i = 1; i <= n; i++) {
          if (t[i] == e) ok = 1
          if (e ~ /^[0-9]$/ && t[i] == d2w[e]) ok = 1
          if ((e in w2d) && t[i] == w2d[e] "") ok = 1
        }
      }
      if (exact) { k = e ~ / from / ? 3 : (e ~ / (of|above|below) / ? 2 : 1); kc[k] += ok; kn[k]++ }
      c += ok; total++ }
    END { if (!total) exit
          printf "%-16s %5d items  accuracy %6.2f %%", task, total, 100 * c / total
          for (k = 1; k <= 3; k++) if (kn[k]) printf "  (%d shape%s %d/%d)", k, (k > 1 ? "s" : ""), kc[k], kn[k]
          printf "\n" }'
}

# accuracy, task by task (the body is not indented: it holds a here-document)
if [ "${ACCURACY:-1}" != 0 ]; then
for task in mnist cifar10 scenes; do
  awk -F '\t' -v t=$task '$1 == t' "$HELD/labels.tsv" | head -n "$N" >"$TMP/rows"
  [ -s "$TMP/rows" ] || continue
  cut -f3 "$TMP/rows" >"$TMP/exp"
  cut -f2 "$TMP/rows" | tr '\n' '\0' | xargs -0 "$BIN" caption -m "$MODEL" -t 2 ${VIEWS:+--views "$VIEWS"} >"$TMP/ans"
  score "$task" "$([ "$task" = scenes ] && echo 1 || echo 0)"
done

# ask TASK MEDIA TOKENS [QUESTION]: the question (or each row's fourth
# column) about each row's file, all through one `tessera chat` process;
# expected answers to $TMP/exp, answers to $TMP/ans
ask() {
  [ -s "$TMP/rows" ] || return 1
  cut -f3 "$TMP/rows" >"$TMP/exp"
  awk -F '\t' -v m="$2" -v q="$4" '{ print "/clear"; print "/" m " " $2; print (q != "" ? q : $4) }' \
    "$TMP/rows" >"$TMP/script"
  "$BIN" chat -m "$MODEL" -t 2 -n "$3" ${VIEWS:+--views "$VIEWS"} <"$TMP/script" 2>/dev/null | sed 's/^\(> \)*//' |
    head -n "$(wc -l <"$TMP/rows")" >"$TMP/ans"
}

# each position of the first N scenes that have two or three shapes ("What
# is in the middle?", the corpus's own question from labels.tsv): exact
# phrase, and size, colour and shape word on their own; then exact by
# position (the question's last word)
awk -F '\t' -v n="$N" 'FNR == NR { if ($1 == "scenes" && k++ < n) first[$2] = 1; next }
  $1 == "scene_parts" && ($2 in first)' "$HELD/labels.tsv" "$HELD/labels.tsv" >"$TMP/rows"
if ask scene_parts image 16; then
  cut -f4 "$TMP/rows" | paste -d '\t' "$TMP/exp" "$TMP/ans" - | awk -F '\t' '{
      split($1, e, " "); split(tolower($2), a, " "); total++; ok = tolower($2) == $1
      exact += ok; size += a[2] == e[2]; colour += a[3] == e[3]; shape += a[4] == e[4]
      where = $3; sub(/\?$/, "", where); sub(/.* /, "", where); asked[where]++; right[where] += ok }
    END { printf "scene positions  %5d items  exact %6.2f %%  size %.2f %%  colour %.2f %%  shape %.2f %%\n",
            total, 100 * exact / total, 100 * size / total, 100 * colour / total, 100 * shape / total
          printf "  by position:"
          split("left right top bottom middle", order, " ")
          for (i = 1; i <= 5; i++) if (asked[order[i]])
            printf "  %s %.1f %% of %d", order[i], 100 * right[order[i]] / asked[order[i]], asked[order[i]]
          printf "\n" }'
fi

while IFS='|' read -r task question; do
  awk -F '\t' -v t="$task" '$1 == t' "$HELD/labels.tsv" | head -n "$N" >"$TMP/rows"
  if ask "$task" audio 24 "$question"; then score "$task" 0; fi
done <<EOF
fsdd|Which digit is spoken?
speech_commands|What word is spoken?
beeps|How many beeps are there?
EOF
fi # accuracy

[ "${SPEED:-1}" = 0 ] && exit 0

# latency from process start (model load included): median of 5, with the
# default views (9 per image, 4 per clip) and with one view
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
IMG=$(awk -F '\t' '$1 == "cifar10" { print $2; exit }' "$HELD/labels.tsv")
CLIP=$(awk -F '\t' '$1 == "speech_commands" { print $2; exit }' "$HELD/labels.tsv")
for views in 9 1; do
  for what in caption ask; do
    for _ in 1 2 3 4 5; do
      t0=$(date +%s.%N)
      if [ $what = caption ]; then "$BIN" caption -m "$MODEL" -t 1 --views $views "$IMG" >/dev/null
      else "$BIN" ask -m "$MODEL" -t 1 --views $views "$CLIP" "What word is spoken?" >/dev/null; fi
      t1=$(date +%s.%N)
      echo "$t0 $t1" | awk '{ printf "%.4f\n", $2 - $1 }'
    done | median >"$TMP/lat"
    echo "latency $what (1 image / 1-second clip, -t 1, --views $views): $(cat "$TMP/lat") s (median of 5)"
  done
done

# throughput: 1,000 images in one batch on 1 and 2 threads, 9 views and 1;
# peer: one process per image
awk -F '\t' '$1 == "cifar10" || $1 == "mnist" { print $2 }' "$HELD/labels.tsv" | head -n 1000 >"$TMP/imgs"
NI=$(wc -l <"$TMP/imgs")
for views in 9 1; do
  for t in 1 2; do
    t0=$(date +%s.%N)
    tr '\n' '\0' <"$TMP/imgs" | xargs -0 "$BIN" caption -m "$MODEL" -t $t --views $views >/dev/null
    t1=$(date +%s.%N)
    echo "$t0 $t1 $NI $t $views" | awk '{ printf "throughput: %d images in %.2f s on %d thread(s), --views %d: %.1f captions/s\n", $3, $2 - $1, $4, $5, $3 / ($2 - $1) }'
  done
done | tee "$TMP/thr"
head -n 20 "$TMP/imgs" >"$TMP/few"
t0=$(date +%s.%N)
while read -r f; do "$BIN" caption -m "$MODEL" -t 1 --views 1 "$f" >/dev/null; done <"$TMP/few"
t1=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v bat="$(sed -n 3p "$TMP/thr" | awk '{ print $(NF - 1) }')" 'BEGIN {
  per = 20 / (b - a); printf "peer: one process per image (--views 1): %.1f captions/s; batched/peer = %.1fx\n", per, bat / per }'
