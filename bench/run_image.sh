#!/bin/sh
# Image front end against Pillow, in one go: build/bench/bench_image and
# bench/peer_image.py on the same CIFAR-10 tar and the same 12-megapixel
# JPEG (bench_image writes it), alternated for ROUNDS rounds so that both
# see the same machine load, then the medians and their ratios.
#
#   bench/run_image.sh [CIFAR_TAR] [12MP_JPEG]      (from the repository root, after `make bench`)
#   ROUNDS=5 bench/run_image.sh                     (default 3)
set -e
tar=${1:-/work/shared/data/cifar10/test.tar}
big=${2:-/tmp/tessera-bench-12mp.jpg}
bin=${BENCH_BIN:-build/bench/bench_image}
rounds=${ROUNDS:-3}
[ -x "$bin" ] || { echo "run_image.sh: $bin missing: run 'make bench' first" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
i=1
while [ "$i" -le "$rounds" ]; do
    "$bin" "$tar" "$big" >"$dir/ours.$i" 2>/dev/null
    /usr/bin/python3 bench/peer_image.py "$tar" "$big" >"$dir/peer.$i"
    i=$((i + 1))
done
echo "== tessera (C, libjpeg-turbo, 1 thread), last of $rounds rounds"; cat "$dir/ours.$rounds"
echo "== peer (Pillow $(/usr/bin/python3 -c 'import PIL; print(PIL.__version__)') + numpy, 1 thread), last of $rounds rounds"
cat "$dir/peer.$rounds"
# median over the rounds of the value after key $2 in files $1.*
med() { cat "$1".* | awk -v k="$2" '$1 == k { print $2 }' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "== medians of $rounds rounds, and ratios"
awk -v a="$(med "$dir/ours" cifar_images_per_s)" -v b="$(med "$dir/peer" cifar_images_per_s)" \
    'BEGIN { printf "cifar32 images/s: tessera %d, Pillow %d -> %.2fx Pillow (target >= 3x)\n", a, b, a / b }'
awk -v a="$(med "$dir/ours" jpeg12mp_ms)" -v b="$(med "$dir/peer" jpeg12mp_ms)" -v c="$(med "$dir/peer" jpeg12mp_draft_ms)" \
    'BEGIN { printf "12 MP JPEG -> 32x32: tessera %.1f ms; Pillow %.1f ms (tessera %.2fx faster); Pillow with draft() %.1f ms (%.2fx)\n", a, b, b / a, c, c / a }'
