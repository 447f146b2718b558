#!/bin/sh
# Decoder speed against the PyTorch peer, in one run:
#   the machine's OpenBLAS SGEMM peak, tessera's training step (tokens/s and
#   share of that peak) at 1 and 2 threads, the same step in PyTorch
#   (bench/peer_decoder.py, same config, same threads, its BLAS on one
#   thread; OpenMP waiting passively, which is fairer to it on a shared
#   machine), and batch-1 decoding with and without DRA skipping, against
#   PyTorch's batch-1 decoding with a KV cache (every head computed: the
#   ratio is taken to tessera without skipping).
#
# usage: bench/run_decoder.sh [MODEL.gguf] [STEPS]
#   MODEL.gguf: a trained model for the decoding rows (its DRA gates decide
#   what is skipped); without it the decoding rows use a fresh model.
set -e
cd "$(dirname "$0")/.."
MODEL=${1:-}
STEPS=${2:-5}
make -s -j2 build/bench/bench_decoder >/dev/null
PY=/usr/bin/python3
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in 1 2; do
    build/bench/bench_decoder --threads $t --steps "$STEPS" --decode 0 | sed "s/^/c$t /" >>"$out"
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE $PY bench/peer_decoder.py --threads $t --steps "$STEPS" |
        sed "s/^/p$t /" >>"$out"
done
for t in 1 2; do
    build/bench/bench_decoder --threads $t --steps 0 --decode 256 ${MODEL:+--model "$MODEL"} |
        sed "s/^/d$t /" >>"$out"
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$t OMP_WAIT_POLICY=PASSIVE $PY bench/peer_decoder.py --threads $t --steps 0 --decode 256 |
        sed "s/^/q$t /" >>"$out"
done
get() { awk -v k="$1" -v f="$2" '$1 == k && $2 == f { print $3 }' "$out"; }
echo "decoder benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg))"
echo "params $(get c1 params), active per token $(get c1 active_params); batch 8 x 256 tokens"
printf '%-8s %12s %12s %10s %14s %12s\n' threads sgemm_GF/s tessera_tok/s of_peak pytorch_tok/s ratio
for t in 1 2; do
    c=$(get c$t train_tokens_per_s); p=$(get p$t peer_train_tokens_per_s)
    printf '%-8s %12s %12s %10s %14s %12s\n' "$t" "$(get c$t sgemm_peak_gflops)" "$c" \
        "$(get c$t train_peak_fraction)" "$p" "$(awk -v a="$c" -v b="$p" 'BEGIN { printf "%.2fx", a / b }')"
done
for t in 1 2; do
    echo "decode batch 1, $t thread(s): $(get d$t decode_nodra_tokens_per_s) tok/s without DRA skipping," \
        "$(get d$t decode_dra_tokens_per_s) tok/s with (per CPU-second of the main thread:" \
        "$(get d$t decode_nodra_tokens_per_cpu_s) / $(get d$t decode_dra_tokens_per_cpu_s));" \
        "head work skipped $(get d$t decode_head_work_skipped)"
    n=$(get d$t decode_nodra_tokens_per_s); p=$(get q$t peer_decode_tokens_per_s)
    echo "  pytorch batch-1 decoding, $t thread(s): $p tok/s; tessera/pytorch" \
        "$(awk -v a="$n" -v b="$p" 'BEGIN { printf "%.2fx", a / b }') without DRA skipping," \
        "$(awk -v a="$(get d$t decode_dra_tokens_per_s)" -v b="$p" 'BEGIN { printf "%.2fx", a / b }') with"
done
