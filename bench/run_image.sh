#!/bin/sh
# Image front end against Pillow, in one go: build/bench/bench_image, then
# bench/peer_image.py on the same CIFAR-10 tar and the same 12-megapixel
# JPEG (which bench_image writes), then the ratios.
#
#   bench/run_image.sh [CIFAR_TAR] [12MP_JPEG]      (from the repository root, after `make bench`)
set -e
tar=${1:-/work/shared/data/cifar10/test.tar}
big=${2:-/tmp/tessera-bench-12mp.jpg}
bin=${BENCH_BIN:-build/bench/bench_image}
[ -x "$bin" ] || { echo "run_image.sh: $bin missing: run 'make bench' first" >&2; exit 1; }
ours=$(mktemp) peer=$(mktemp)
trap 'rm -f "$ours" "$peer"' EXIT
"$bin" "$tar" "$big" >"$ours"
/usr/bin/python3 bench/peer_image.py "$tar" "$big" >"$peer"
echo "== tessera (C, libjpeg-turbo, 1 thread)"; cat "$ours"
echo "== peer (Pillow $(/usr/bin/python3 -c 'import PIL; print(PIL.__version__)') + numpy, 1 thread)"; cat "$peer"
get() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
echo "== ratios"
awk -v a="$(get "$ours" cifar_images_per_s)" -v b="$(get "$peer" cifar_images_per_s)" \
    'BEGIN { printf "cifar32 images/s: tessera %d, Pillow %d -> %.2fx Pillow (target >= 3x)\n", a, b, a / b }'
awk -v a="$(get "$ours" jpeg12mp_ms)" -v b="$(get "$peer" jpeg12mp_ms)" -v c="$(get "$peer" jpeg12mp_draft_ms)" \
    'BEGIN { printf "12 MP JPEG -> 32x32: tessera %.1f ms, Pillow %.1f ms (%.2fx faster), Pillow with draft() %.1f ms (%.2fx)\n", a, b, b / a, c, c / a }'
