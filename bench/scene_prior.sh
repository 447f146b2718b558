#!/bin/sh
# Lone shapes of unseen combinations: does the caption name the shape the
# image shows, or the one its words make likely? For each held-out 1-shape
# scene ("a large green circle"), the caption (`tessera caption`) is
# checked word for word, and the same model answers "Which shape is in the
# image?" as multiple choice (`tessera eval` on circle / square / triangle,
# the question the corpus asks of lone shapes). Where the multiple choice
# names the shape that the caption gets wrong, the codes hold the shape and
# the caption's words override them.
#   bench/scene_prior.sh [MODEL] [HELDOUT_DIR]
set -e
# shellcheck source=bench/heldout.sh
. "$(dirname "$0")/heldout.sh"
awk -F '\t' '$1 == "scenes" && split($3, w, " ") == 4' "$HELD/labels.tsv" >"$TMP/rows"
[ -s "$TMP/rows" ] || { echo "$HELD/labels.tsv: no 1-shape scenes" >&2; exit 2; }
cut -f2 "$TMP/rows" | tr '\n' '\0' | xargs -0 "$BIN" caption -m "$MODEL" -t 2 >"$TMP/captions"
# one JSONL item per scene, its combination as the task (absolute paths:
# the items are read relative to the JSONL's own folder)
paste -d '\t' "$TMP/rows" "$TMP/captions" | while IFS="$(printf '\t')" read -r _ file expected caption; do
  shape=${expected##* }
  case $shape in circle) k=0 ;; square) k=1 ;; *) k=2 ;; esac
  caption_shape=${caption##* }
  ok=$([ "$caption_shape" = "$shape" ] && echo + || echo -)
  combo=${expected#a }
  size=$(echo "$combo" | cut -c1 | tr 'ls' 'LS')
  printf '{"id":"%s","question":"Which shape is in the image?","choices":["circle","square","triangle"],"answer":%d,"image":"%s","task":"%s"}\n' \
    "$file" "$k" "$(realpath "$file")" "$size ${combo#* }$ok"
done >"$TMP/items.jsonl"
echo "held-out 1-shape scenes: $(wc -l <"$TMP/rows"); caption exact: $(paste -d '\t' "$TMP/rows" "$TMP/captions" | awk -F '\t' '$3 == $4' | wc -l)"
echo "multiple choice \"Which shape is in the image?\" by combination (L large, S small), + where the caption's shape word was right, - where it was wrong:"
"$BIN" eval "$TMP/items.jsonl" -m "$MODEL" -t 2 -q | sed -n '/^  task/,$p'
