#!/bin/sh
# Installs the Debian packages tessera builds and tests with. As root it runs
# apt-get; otherwise it prints the exact command and stops (exit 1).
set -e
BUILD_PKGS="build-essential pkg-config libpng-dev libjpeg62-turbo-dev libsndfile1-dev libsoxr-dev libfftw3-dev libopenblas-dev libcmocka-dev zlib1g-dev"
# clang for `make fuzz`; nodejs+npm for the GGUF interoperability test (it
# is skipped with a message where Node.js is absent).
EXTRA_PKGS="clang libclang-rt-dev nodejs npm"
# Node.js may come from outside Debian (then its npm is not a Debian package).
command -v node >/dev/null && command -v npm >/dev/null && EXTRA_PKGS="clang libclang-rt-dev"
# WITH_MODEL=1: the packages `make model` trains on (voices, prompts, glosses).
MODEL_PKGS="espeak-ng wordnet-base asterisk-core-sounds-en-wav asterisk-core-sounds-en"
# WITH_BENCH=1: Debian's Python, numpy, Pillow and PyTorch for the peers and
# probes in bench/ and the golden-value scripts in tools/.
BENCH_PKGS="python3-numpy python3-pil python3-torch"
missing=""
for p in $BUILD_PKGS ${WITH_EXTRAS:+$EXTRA_PKGS} ${WITH_MODEL:+$MODEL_PKGS} ${WITH_BENCH:+$BENCH_PKGS}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "tessera needs these Debian packages. Run as root:" >&2
    echo "  apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # $missing is a list of package names
apt-get install -y -qq $missing >/dev/null
