#!/bin/sh
# What the beam search costs: bench/views_speed.sh with one binary run two
# ways side by side, A token by token (--beam 1 on caption, ask and chat)
# and B at its defaults (a beam of 3). The captions differ (that is what
# the beam is for), so views_speed's check says so on stderr.
#   bench/beam_speed.sh [BIN] [MODEL] [HELDOUT_DIR] [N]
set -e
BIN=${1:-build/tessera}
[ -x "$BIN" ] || { echo "beam_speed: no binary $BIN (make first)" >&2; exit 2; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
EXE=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
cat >"$TMP/beam1" <<WRAP
#!/bin/sh
c=\$1
shift
case \$c in
  caption | ask | chat) exec "$EXE" "\$c" --beam 1 "\$@" ;;
  *) exec "$EXE" "\$c" "\$@" ;;
esac
WRAP
chmod +x "$TMP/beam1"
sh "$(dirname "$0")/views_speed.sh" "$TMP/beam1" "$BIN" "${2:-models/tessera.gguf}" \
  "${3:-build/default-model/heldout}" "${4:-300}"
