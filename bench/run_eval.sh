#!/bin/sh
# `tessera eval` speed, this build against another binary (e.g. a copy of
# build/tessera made before a change), side by side on the same items:
# items/s of the whole command (media, prompt, scoring), the two binaries
# alternating so that a busy machine slows both alike; medians of REPS runs
# and the ratio new / old. Also checks that both pick the same options
# (the --json outputs without timings must have the same predictions).
#
# usage: bench/run_eval.sh OLD_BINARY [LIMIT] [REPS] [THREADS]
#   defaults: the first 200 val items of ScienceQA, 3 runs, 1 thread;
#   MODEL (environment): the model file (default models/tessera.gguf)
set -e
cd "$(dirname "$0")/.."
OLD=${1:?usage: bench/run_eval.sh OLD_BINARY [LIMIT] [REPS] [THREADS]}
LIMIT=${2:-200}
REPS=${3:-3}
THREADS=${4:-1}
MODEL=${MODEL:-models/tessera.gguf}
BENCH=${BENCH:-../shared/data/scienceqa/problems.json}
NEW=build/tessera
[ -x "$NEW" ] || make -s -j2 "$NEW" >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# items/s from the report's "speed:" line
speed() {
    "$1" eval "$BENCH" -m "$MODEL" --split val --limit "$LIMIT" -t "$THREADS" -q \
        --json "$tmp/$2.json" | sed -n 's/^speed: *\([0-9.]*\) items\/s.*/\1/p'
}
median() { sort -g | awk '{v[NR] = $1} END {print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
r=1
while [ "$r" -le "$REPS" ]; do
    o=$(speed "$OLD" old)
    n=$(speed "$NEW" new)
    echo "run $r: old $o items/s, new $n items/s" >&2
    echo "$o" >>"$tmp/old"
    echo "$n" >>"$tmp/new"
    r=$((r + 1))
done
mo=$(median <"$tmp/old")
mn=$(median <"$tmp/new")
picks() { grep -o '"prediction":-\{0,1\}[0-9]*' "$1"; }
picks "$tmp/old.json" >"$tmp/old.picks"
picks "$tmp/new.json" >"$tmp/new.picks"
if cmp -s "$tmp/old.picks" "$tmp/new.picks"; then
    same="same predictions"
else
    same="PREDICTIONS DIFFER"
fi
printf 'eval %s on %s, %s items of val, %s thread(s), median of %s runs\n' "$MODEL" "$BENCH" "$LIMIT" "$THREADS" "$REPS"
printf '%-40s %12s\n' binary "items/s"
printf '%-40s %12.2f\n' "$OLD" "$mo" "$NEW" "$mn"
awk -v o="$mo" -v n="$mn" -v s="$same" 'BEGIN {printf "ratio new / old: %.2fx (%s)\n", n / o, s}'
