#!/bin/sh
# The audio front end's speed next to its peers, in one run:
#   (a) decode -> mono -> 16 kHz -> log-mel of a 60 s 44.1 kHz stereo FLAC,
#       1 thread, vs sox (decode + mono + 16 kHz) plus the numpy log-mel;
#   (b) the log-mel alone on 60 s at 16 kHz, 1 thread, vs numpy
#       (bench/peer_mel.py: whisper-style rfft STFT + mel matmul + log10).
# Targets: (b) >= 3x numpy, (a) >= 1,000x real time.
#   bench/run_audio.sh [REPS]        (from the repository root)
set -e
REPS=${1:-9}
DIR=$(mktemp -d /tmp/tessera-bench-audio-XXXXXX)
trap 'rm -rf "$DIR"' EXIT
make --no-print-directory -s build/bench/bench_audio >/dev/null
PY=/usr/bin/python3

echo "== tessera (C, 1 thread)"
OPENBLAS_NUM_THREADS=1 build/bench/bench_audio -d "$DIR" -r "$REPS" | tee "$DIR/c.txt" | grep -v '^RESULT'

echo "== peers (1 thread)"
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    $PY bench/peer_mel.py "$DIR/bench_60s_16k.npy" "$((REPS * 3))" | tee "$DIR/peer.txt" | grep -v '^RESULT'
if command -v sox >/dev/null 2>&1; then
    # sox's default `rate` is its high-quality (-h) soxr-based resampler
    $PY - "$DIR/bench_60s_44k1.flac" "$REPS" >>"$DIR/peer.txt" <<'PYEOF'
import subprocess, sys, time, statistics
src, reps = sys.argv[1], int(sys.argv[2])
cmd = ["sox", "-q", src, "-t", "f32", "-c", "1", "-r", "16000", "/dev/null"]
subprocess.run(cmd, check=True)
ts = []
for _ in range(reps):
    t0 = time.perf_counter(); subprocess.run(cmd, check=True); ts.append(time.perf_counter() - t0)
print("RESULT peer_sox_s %.6f" % statistics.median(ts))
PYEOF
fi

get() { awk -v k="$1" '$1 == "RESULT" && $2 == k { print $3 }' "$DIR/c.txt" "$DIR/peer.txt"; }
c_mel=$(get logmel_s); p_mel=$(get peer_logmel_s)
c_path=$(get path_s); c_dec=$(get path_decode_s); c_cpu=$(get path_cpu_s); p_sox=$(get peer_sox_s)
echo "== summary (median of runs; ratio = peer time / tessera time)"
awk -v c="$c_mel" -v p="$p_mel" 'BEGIN {
    printf "log-mel, 60 s at 16 kHz, 1 thread: tessera %.2f ms (%.0fx real time), numpy %.2f ms (%.0fx real time): %.1fx numpy (target >= 3x)\n",
        c * 1e3, 60 / c, p * 1e3, 60 / p, p / c }'
if [ -n "$p_sox" ]; then
    awk -v c="$c_path" -v d="$c_dec" -v s="$p_sox" -v p="$p_mel" -v u="$c_cpu" 'BEGIN {
        printf "decode+mono+16 kHz, 60 s 44.1 kHz stereo FLAC: tessera %.1f ms, sox %.1f ms (process included): %.2fx sox\n",
            d * 1e3, s * 1e3, s / d
        printf "whole path (decode -> log-mel), 1 thread: tessera %.1f ms = %.0fx real time (target >= 1000x); sox + numpy %.1f ms = %.0fx real time: %.2fx the peers\n",
            c * 1e3, 60 / c, (s + p) * 1e3, 60 / (s + p), (s + p) / c
        printf "whole path, CPU time of the thread: %.1f ms = %.0fx real time per CPU second (wall time above includes waiting for a shared core)\n",
            u * 1e3, 60 / u }'
else
    awk -v c="$c_path" 'BEGIN { printf "whole path, 1 thread: tessera %.1f ms = %.0fx real time (target >= 1000x); sox not installed, no peer\n", c * 1e3, 60 / c }'
fi
