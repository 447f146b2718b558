#!/bin/sh
# Multiple choice on the held-out CIFAR-10 images, as `tessera eval` reads
# JSONL benchmarks: "What is shown in the image?" (the corpus's own
# question) with all ten classes as options, then with four (the right
# class and three others, by the item's number, the right one at position
# number mod 4). The default model learnt questions of at most five
# options; see the README.
#   bench/cifar_mc.sh [MODEL] [HELDOUT_DIR] [N]
set -e
# shellcheck source=bench/heldout.sh
. "$(dirname "$0")/heldout.sh"
N=${3:-1000}
awk -F '\t' '$1 == "cifar10"' "$HELD/labels.tsv" | head -n "$N" | while IFS="$(printf '\t')" read -r _ file class; do
  printf '%s\t%s\n' "$(realpath "$file")" "$class"
done | awk -F '\t' -v ten="$TMP/ten.jsonl" -v four="$TMP/four.jsonl" '
  BEGIN { n = split("airplane automobile bird cat deer dog frog horse ship truck", c, " ")
          for (k = 1; k <= n; k++) idx[c[k]] = k - 1 }
  function q(file, list, answer) {
    return sprintf("{\"id\":\"%s\",\"question\":\"What is shown in the image?\",\"choices\":[%s],\"answer\":%d,\"image\":\"%s\"}",
                   file, list, answer, file) }
  { i = NR - 1; k = idx[$2]
    list = ""; for (j = 1; j <= 10; j++) list = list (j > 1 ? "," : "") "\"" c[j] "\""
    print q($1, list, k) > ten
    # three other classes at offsets 1 + i % 9, 1 + (i + 3) % 9, 1 + (i + 6) % 9
    pos = i % 4; m = 0; list = ""
    for (j = 0; j < 4; j++) {
      if (j == pos) o = k; else { o = (k + 1 + (i + 3 * m) % 9) % 10; m++ }
      list = list (j ? "," : "") "\"" c[o + 1] "\"" }
    print q($1, list, pos) > four }'
for f in ten four; do
  echo "$f options: $("$BIN" eval "$TMP/$f.jsonl" -m "$MODEL" -t 2 -q ${VIEWS:+--views "$VIEWS"} | grep -E '^accuracy' | sed 's/^accuracy: *//')"
done
