#!/bin/sh
# What the beam search costs: bench/views_speed.sh with one binary run two
# ways side by side, A token by token (--beam 1) and B with a beam of
# $BEAM (default 3, caption's default), both on caption, ask and chat. The
# captions differ (that is what the beam is for), so views_speed's check
# says so on stderr.
#   bench/beam_speed.sh [BIN] [MODEL] [HELDOUT_DIR] [N]
set -e
BIN=${1:-build/tessera}
[ -x "$BIN" ] || { echo "beam_speed: no binary $BIN (make first)" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
EXE=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
# wrapper NAME WIDTH: $EXE with --beam WIDTH on the commands that decode
wrapper() {
  cat >"$TMP/$1" <<WRAP
#!/bin/sh
c=\$1
shift
case \$c in
  caption | ask | chat) exec "$EXE" "\$c" --beam $2 "\$@" ;;
  *) exec "$EXE" "\$c" "\$@" ;;
esac
WRAP
  chmod +x "$TMP/$1"
}
wrapper greedy 1
wrapper beam "${BEAM:-3}"
sh "$(dirname "$0")/views_speed.sh" "$TMP/greedy" "$TMP/beam" "${2:-models/tessera.gguf}" \
  "${3:-build/default-model/heldout}" "${4:-300}"
