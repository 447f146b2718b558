#!/bin/sh
# `make model DATA=../shared/data`: rebuilds the default model from scratch.
#   stage 1  espeak-ng voices for digits and keywords      -> $OUT/spoken/
#   stage 2  corpus text, then the BPE tokenizer           -> $OUT/tokenizer.gguf
#   stage 3  the shared-codebook VQ-VAE                    -> $OUT/vq.gguf
#   stage 4  every medium encoded once into token shards   -> $OUT/shards/, $OUT/heldout/
#   stage 5  the MoE decoder on the shards (q8_0 weights)  -> $OUT/tessera.gguf
#   then     models/tessera.gguf
# Budget on this 2-core machine (measured): voices 20 s, text and BPE 10 s,
# VQ-VAE 8000 steps 494 s, shards 150-259 s, decoder 32000 steps about
# 4370-4390 s (tied codes, 2-D positions): 84-86 min in all (the limit is
# 100; LM_TIME stops the decoder with its model written if a busy machine
# runs slower).
# Each stage is skipped when its output exists; an interrupted stage resumes
# from its checkpoint (VQ-VAE and decoder) when run again. Progress and ETA
# of each stage on stderr; per-stage wall times in $OUT/times.tsv.
# Settings (environment): DATA, OUT (build/default-model), THREADS (2),
# BPE_VOCAB (4096), VQ_STEPS (8000), VQ_MAX (25000 images per source),
# VQ_SCENES (20000: generated scenes among the VQ-VAE's images),
# SCENES (40000), TONES (20000), REPEAT (augmented copies per source, see
# below), NARROWBAND (percent of the augmented clips also cut to the
# telephone band, build-shards --narrowband; default 0), LM_STEPS (32000),
# LM_TIME (4800 s), LM_CONFIG (decoder sizes),
# LM_BATCH (8), LM_SEQ (256), TURNS (1: questions per shard record, see
# build-shards --turns), TIE_CODES (1: the media codes' embedding rows a
# learned projection of their codebook vectors, train-mm --tie-codes; 0:
# free rows), LM_SEED (3: the decoder's seed, train-mm -s; the default
# model's), ROPE_2D (1: 2-D
# RoPE over the image codes' grid rows and columns, train-mm --rope-2d;
# 0: the codes at raster positions), GRID_MIX (R: each image code's input
# adds a learned map of its neighbours read before it, R rows above and R
# codes to its left, train-mm --grid-mix-reach R, with ROPE_2D=1; default
# 1: its four nearest, --grid-mix; 0: none), CODE_SWAP (I,A:
# percent of the image and audio codes the decoder reads swapped for a
# codebook neighbour, train-mm --code-swap; default 0,0), EMA (decay of the
# moving average of the decoder's weights that is written as the model,
# train-mm --ema; default 0: the trained weights themselves), MC_OPTIONS
# (the most options a generated multiple-choice question shows,
# build-shards --mc-options; default 4), LEVEL_FLOOR (the peak every
# clip quieter than it is brought up to before its log-mel, as `ask` reads
# clips, build-shards --level-floor; default 0: as recorded), GATE_PENALTY
# (the weight of the DRA penalty that closes attention heads, train-mm
# --gate-penalty; default 0.01), INSTALL
# (models/tessera.gguf; empty: do not install), UNTIL (espeak, bpe, vq or
# shards: stop after that stage), PARTIAL (1: build even without the Debian
# packages that hold training data).
set -e
DATA=${DATA:-../shared/data}
OUT=${OUT:-build/default-model}
THREADS=${THREADS:-2}
BPE_VOCAB=${BPE_VOCAB:-4096}
VQ_STEPS=${VQ_STEPS:-8000}
VQ_MAX=${VQ_MAX:-25000}
VQ_SCENES=${VQ_SCENES:-20000}
SCENES=${SCENES:-40000}
TONES=${TONES:-20000}
# train items of these sources are written N times, the copies augmented
# (images flipped/shifted, clips speed/gain/shift/noise-perturbed): the small
# audio sets and CIFAR-10 get a fair share of the decoder's steps
REPEAT=${REPEAT:-cifar10=4,twemoji=2,fsdd=16,speech_commands=24,espeak-ng=3,asterisk=2}
LM_STEPS=${LM_STEPS:-32000}
LM_TIME=${LM_TIME:-4800}
LM_CONFIG=${LM_CONFIG:-d_model=128,n_heads=4,head_dim=32,n_layers=4,ffn_hidden=384,n_experts=16,n_experts_used=4,expert_hidden=128,context=512}
LM_BATCH=${LM_BATCH:-8}
LM_SEQ=${LM_SEQ:-256}
TURNS=${TURNS:-1}
NARROWBAND=${NARROWBAND:-0}
TIE_CODES=${TIE_CODES:-1}
LM_SEED=${LM_SEED:-3}
GATE_PENALTY=${GATE_PENALTY:-0.01}
ROPE_2D=${ROPE_2D:-1}
GRID_MIX=${GRID_MIX:-1}
CODE_SWAP=${CODE_SWAP:-0,0}
EMA=${EMA:-0}
MC_OPTIONS=${MC_OPTIONS:-4}
LEVEL_FLOOR=${LEVEL_FLOOR:-0}
INSTALL=${INSTALL-models/tessera.gguf}
MAX_PER_SOURCE=${MAX_PER_SOURCE:-0}
BIN=${TESSERA:-build/tessera}
UNTIL=${UNTIL:-}
[ -d "$DATA" ] || { echo "make model: DATA=$DATA is not a folder (see README: the data sets)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "make model: $BIN is missing (run make)" >&2; exit 2; }
# grid mixing reads the 2-D grid; checked here, not hours later at stage 5
[ "$GRID_MIX" = 0 ] || [ "$ROPE_2D" = 1 ] ||
  { echo "make model: GRID_MIX=$GRID_MIX needs ROPE_2D=1 (GRID_MIX=0 turns it off)" >&2; exit 1; }
# build-shards skips a source that is not there, which would quietly make a
# different model, so a missing one stops the build here (PARTIAL=1 goes on):
# build-shards names the data folders and Debian packages it lacks, and
# espeak-ng (stage 1's voices) is checked here.
if [ "${PARTIAL:-0}" != 1 ]; then
  ok=1
  "$BIN" build-shards --data "$DATA" --check-sources || ok=0
  command -v espeak-ng >/dev/null || {
    echo "make model: espeak-ng is not installed (Debian package espeak-ng)" >&2
    ok=0
  }
  if [ $ok = 0 ]; then
    echo "make model: WITH_MODEL=1 tools/install-deps.sh installs the Debian packages (the data" \
      "sets: see the README); PARTIAL=1 builds without what is missing" >&2
    exit 2
  fi
fi
mkdir -p "$OUT"
T0=$(date +%s)
[ -f "$OUT/times.tsv" ] || printf 'stage\tseconds\n' >"$OUT/times.tsv"

stage() { # stage N NAME OUTPUT
  S0=$(date +%s)
  echo "make model: [$1/5] $2 (elapsed $(( (S0 - T0) / 60 )) min)" >&2
}
done_stage() {
  S1=$(date +%s)
  printf '%s\t%s\n' "$1" "$((S1 - S0))" >>"$OUT/times.tsv"
  echo "make model: [$1] done in $((S1 - S0)) s" >&2
}
until_here() { # stops after the stage UNTIL names
  [ "$UNTIL" = "$1" ] || return 0
  echo "make model: stopped after stage $1 (UNTIL=$1); run again to go on" >&2
  exit 0
}

# 1. synthetic voices (optional: skipped without espeak-ng)
SPOKEN=""
if command -v espeak-ng >/dev/null; then
  if [ ! -s "$OUT/spoken/index.tsv" ]; then
    stage 1 "espeak-ng voices"
    nice -n 5 tools/model_espeak.sh "$OUT/spoken"
    done_stage espeak
  fi
  SPOKEN="--spoken $OUT/spoken"
else
  echo "make model: [1/5] espeak-ng not installed: no synthetic voices" >&2
fi
until_here espeak
COMMON="--data $DATA $SPOKEN --scenes $SCENES --tones $TONES --max-per-source $MAX_PER_SOURCE --mc-options $MC_OPTIONS -s 1"

# 2. tokenizer, learned from the corpus's own prompts and answers
if [ ! -s "$OUT/tokenizer.gguf" ]; then
  stage 2 "corpus text and BPE tokenizer"
  # shellcheck disable=SC2086
  nice -n 5 "$BIN" build-shards $COMMON --text-out "$OUT/corpus.txt"
  nice -n 5 "$BIN" train-bpe --vocab "$BPE_VOCAB" -o "$OUT/tokenizer.gguf" "$OUT/corpus.txt"
  done_stage bpe
fi
until_here bpe

# 3. VQ-VAE: held out exactly as the decoder's val (theo; the same 10 % of speech-commands speakers)
if [ ! -s "$OUT/vq.gguf" ]; then
  stage 3 "VQ-VAE"
  RESUME=""
  [ -s "$OUT/vq.ckpt.gguf" ] && RESUME="--resume $OUT/vq.ckpt.gguf"
  # shellcheck disable=SC2086
  nice -n 5 "$BIN" train-vq \
    --images "$DATA/cifar10/train.tar" "$DATA/mnist/train-images-idx3-ubyte.gz" \
    --max-per-source "$VQ_MAX" --scenes "$VQ_SCENES" \
    --audio "$DATA/fsdd/recordings" "$DATA/speech_commands" --audio-exclude 'theo,sc%10' \
    --val-images "$DATA/cifar10/test.tar" --val-audio "$DATA/fsdd/recordings" "$DATA/speech_commands" \
    --val-audio-only 'theo,sc%10' \
    --steps "$VQ_STEPS" --checkpoint-every 250 -t "$THREADS" -o "$OUT/vq.gguf" $RESUME
  done_stage vq
fi
until_here vq

# 4. shards: every image and clip encoded once; the held-out set as files
if [ ! -s "$OUT/shards/train.shard" ]; then
  stage 4 "token shards"
  # shellcheck disable=SC2086
  nice -n 5 "$BIN" build-shards $COMMON --tokenizer "$OUT/tokenizer.gguf" --vq "$OUT/vq.gguf" \
    --repeat "$REPEAT" --turns "$TURNS" --narrowband "$NARROWBAND" \
    --level-floor "$LEVEL_FLOOR" -o "$OUT/shards" \
    --export-val "$OUT/heldout" -t "$THREADS"
  done_stage shards
fi
until_here shards

# 5. the decoder, written with tokenizer and VQ-VAE into one q8_0 file
if [ ! -s "$OUT/tessera.gguf" ]; then
  stage 5 "MoE decoder"
  RESUME=""
  [ -s "$OUT/tessera.gguf.ckpt" ] && RESUME="--resume $OUT/tessera.gguf.ckpt"
  FLAGS=""
  [ "$TIE_CODES" = 1 ] && FLAGS="--tie-codes"
  [ "$ROPE_2D" = 1 ] && FLAGS="$FLAGS --rope-2d"
  [ "$GRID_MIX" != 0 ] && FLAGS="$FLAGS --grid-mix-reach $GRID_MIX"
  FLAGS="$FLAGS --code-swap $CODE_SWAP --ema $EMA --gate-penalty $GATE_PENALTY"
  # shellcheck disable=SC2086
  nice -n 5 "$BIN" train-mm --shards "$OUT/shards" --tokenizer "$OUT/tokenizer.gguf" \
    --vq "$OUT/vq.gguf" -o "$OUT/tessera.gguf" --steps "$LM_STEPS" --batch "$LM_BATCH" \
    --seq "$LM_SEQ" --time-limit "$LM_TIME" --q8 -t "$THREADS" -s "$LM_SEED" \
    ${LM_CONFIG:+--config "$LM_CONFIG"} $FLAGS $RESUME
  done_stage decoder
fi

if [ -n "$INSTALL" ]; then
  mkdir -p "$(dirname "$INSTALL")"
  cp "$OUT/tessera.gguf" "$INSTALL.tmp.$$" && mv "$INSTALL.tmp.$$" "$INSTALL"
  echo "make model: installed $INSTALL ($(du -h "$INSTALL" | cut -f1))" >&2
fi
echo "make model: total $(( ($(date +%s) - T0) / 60 )) min; per stage:" >&2
cat "$OUT/times.tsv" >&2
