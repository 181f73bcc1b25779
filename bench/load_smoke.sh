#!/bin/bash
# ctest smoke run of the load generator: the built voxgate in a fresh
# network namespace with only `lo`, 20 concurrent echo sessions held for
# 3 s over UDP and then over ICE-TCP; fails unless every session connects,
# every frame comes back (0 % loss), byte for byte, and no echo is
# unmatched or duplicated.
#   bench/load_smoke.sh BUILD_DIR
# Exits 77 (ctest: skipped) when not root, as network namespaces need it.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
. "$(dirname "$0")/lib.sh"
vg_smoke_begin load_smoke vgload
OUT=$SMOKE_DIR/load.out
vg_server_start "$NS" 8080 "$LOG" "$BUILD/voxgate" --port 8080 --bind 127.0.0.1 --log-level warn \
  --max-sessions 100
rc=0
for transport in udp tcp; do
  ip netns exec "$NS" "$BUILD/voxgate_load" --url http://127.0.0.1:8080 --sessions 20 --ramp 100 \
    --hold 3 --transport "$transport" --server-pid "$SERVER_PID" >"$OUT" || rc=$?
  cat "$OUT"
  line=$(grep '^LOAD_RESULT ' "$OUT" || true)
  for want in '"sessions_connected":20' '"sessions_failed":0' '"loss_pct":0.0' \
    '"unmatched":0' '"duplicates":0' '"altered":0'; do
    case "$line" in
      *"$want"*) ;;
      *) echo "load_smoke ($transport): expected $want"; rc=1 ;;
    esac
  done
  # 20 sessions x 50 frames/s x 3 s: most of them must have been sent.
  sent=$(sed -n 's/^LOAD_RESULT {"packets_sent":\([0-9]*\),.*/\1/p' "$OUT")
  [ "${sent:-0}" -ge 2500 ] || { echo "load_smoke ($transport): only ${sent:-0} frames sent"; rc=1; }
done
[ "$rc" = 0 ] || cat "$LOG"
exit "$rc"
