#!/bin/bash
# ctest smoke run of the transcription benchmark: the built voxgate (one
# PocketSphinx stream) in a fresh network namespace with only `lo`, and one
# vg_bench_transcribe session streaming "go forward ten meters" once; fails
# unless the utterance's final comes back (about 6 s).
#   bench/transcribe_smoke.sh BUILD_DIR
# Exits 77 (ctest: skipped) when not root, as network namespaces need it.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
. "$(dirname "$0")/lib.sh"
vg_smoke_begin transcribe_smoke vgtsmoke
vg_server_start "$NS" 8080 "$LOG" "$BUILD/voxgate" --port 8080 --bind 127.0.0.1 --log-level warn \
  --asr-streams 1 --workers 1
rc=0
ip netns exec "$NS" "$BUILD/vg_bench_transcribe" --url http://127.0.0.1:8080 -n 1 --duration 1 \
  --server-pid "$SERVER_PID" || rc=$?
[ "$rc" = 0 ] || cat "$LOG"
exit "$rc"
