# Sourced by the scripts that ask a model about make model's held-out set
# (model_accuracy.sh, cifar_mc.sh, scene_prior.sh), with their arguments:
# MODEL ($1, default models/tessera.gguf), HELD ($2, the held-out folder),
# BIN (TESSERA, default build/tessera) and TMP, a temporary folder removed on
# exit; stops with exit 2 when MODEL is missing or HELD has no labels.tsv.
# shellcheck shell=sh disable=SC2034 # the sourcing script reads these
MODEL=${1:-models/tessera.gguf}
HELD=${2:-build/default-model/heldout}
BIN=${TESSERA:-build/tessera}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
[ -r "$MODEL" ] || { echo "no model $MODEL" >&2; exit 2; }
[ -s "$HELD/labels.tsv" ] || { echo "no $HELD/labels.tsv (run make model, or build-shards --export-val)" >&2; exit 2; }
