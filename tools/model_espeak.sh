#!/bin/sh
# Synthesises the ten digits and the ten speech-commands keywords with
# espeak-ng (Debian package espeak-ng) in many voices, for the corpus's
# "spoken" source:  tools/model_espeak.sh OUT_DIR
# Writes OUT_DIR/*.wav (22,050 Hz; tessera resamples) and OUT_DIR/index.tsv
# ("FILE<TAB>digit|word<TAB>TEXT"). espeak-ng output is deterministic, so the
# same command gives the same files. Voices: the 8 English voices that work
# without MBROLA x 5 variants x 2 speeds = 80 synthetic speakers.
set -e
OUT=${1:-build/default-model/spoken}
command -v espeak-ng >/dev/null || { echo "model_espeak: espeak-ng is not installed (apt-get install espeak-ng)" >&2; exit 2; }
mkdir -p "$OUT"
tmp="$OUT/index.tsv.tmp.$$"
: >"$tmp"
n=0
for voice in en-us en-gb en-gb-scotland en-gb-x-rp en-029 en-us-nyc en-gb-x-gbclan en-gb-x-gbcwmd; do
  for variant in m1 m3 f1 f3 f4; do
    for speed in 140 185; do
      for w in zero:digit one:digit two:digit three:digit four:digit five:digit six:digit \
               seven:digit eight:digit nine:digit yes:word no:word up:word down:word \
               left:word right:word on:word off:word stop:word go:word; do
        text=${w%%:*}; kind=${w#*:}
        f="${voice}_${variant}_${speed}_${text}.wav"
        [ -s "$OUT/$f" ] || espeak-ng -v "$voice+$variant" -s "$speed" -w "$OUT/$f" "$text"
        printf '%s\t%s\t%s\n' "$f" "$kind" "$text" >>"$tmp"
        n=$((n + 1))
      done
    done
  done
  echo "model_espeak: $voice done ($n clips)" >&2
done
mv "$tmp" "$OUT/index.tsv"
