#!/bin/sh
# Trains the shared-codebook VQ-VAE the way the reported numbers were made:
#   tools/vq_train.sh [OUT_DIR] [THREADS] [EXTRA train-vq OPTIONS...]
# Training data: CIFAR-10 train.tar and the first 25,000 MNIST training
# digits; FSDD without the held-out speaker theo and speech commands without
# its held-out speakers (sc%10). Validation: CIFAR-10 test.tar, MNIST
# t10k, FSDD theo and the 10 % of speech-commands speakers that the decoder
# corpus holds out (never seen in training).
# Resume an interrupted run with RESUME=1 in the environment; STEPS=N sets
# the run's length (default 8000: 17 minutes on 2 shared cores).
set -e
DATA=${DATA:-/work/shared/data}
OUT=${1:-build/vq}
THREADS=${2:-2}
[ $# -gt 0 ] && shift
[ $# -gt 0 ] && shift
mkdir -p "$OUT"
exec nice -n 5 build/tessera train-vq \
    --images "$DATA/cifar10/train.tar" "$DATA/mnist/train-images-idx3-ubyte.gz" \
    --max-per-source 25000 \
    --audio "$DATA/fsdd/recordings" "$DATA/speech_commands" --audio-exclude 'theo,sc%10' \
    --val-images "$DATA/cifar10/test.tar" "$DATA/mnist/t10k-images-idx3-ubyte.gz" \
    --val-audio "$DATA/fsdd/recordings" "$DATA/speech_commands" --val-audio-only 'theo,sc%10' \
    --image-hidden 64 --audio-hidden 96 --res-blocks 2 --codebook-size 1024 --dim 64 \
    --steps "${STEPS:-8000}" --batch 32 --audio-batch 16 --lr 7e-4 --seed 1 -t "$THREADS" \
    --checkpoint-every 250 -o "$OUT/vq.gguf" ${RESUME:+--resume "$OUT/vq.ckpt.gguf"} "$@"
