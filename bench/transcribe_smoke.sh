#!/bin/bash
# ctest smoke run of the transcription benchmark: the built voxgate (one
# PocketSphinx stream) in a fresh network namespace with only `lo`, and one
# vg_bench_transcribe session streaming "go forward ten meters" once; fails
# unless the utterance's final comes back (about 6 s).
#   bench/transcribe_smoke.sh BUILD_DIR
# Exits 77 (ctest: skipped) when not root, as network namespaces need it.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
[ "$(id -u)" = 0 ] || { echo "transcribe_smoke: skipped (needs root for ip netns)"; exit 77; }
command -v ip >/dev/null || { echo "transcribe_smoke: skipped (no iproute2)"; exit 77; }
. "$(dirname "$0")/lib.sh"
NS=vgtsmoke-$$
LOG=$(mktemp /tmp/vg-transcribe-smoke.XXXXXX)
trap 'vg_ns_down "$NS"; rm -f "$LOG"' EXIT
vg_ns_up "$NS"
vg_server_start "$NS" 8080 "$LOG" "$BUILD/voxgate" --port 8080 --bind 127.0.0.1 --log-level warn \
  --asr-streams 1 --workers 1
rc=0
ip netns exec "$NS" "$BUILD/vg_bench_transcribe" --url http://127.0.0.1:8080 -n 1 --duration 1 \
  --server-pid "$SERVER_PID" || rc=$?
[ "$rc" = 0 ] || cat "$LOG"
exit "$rc"
