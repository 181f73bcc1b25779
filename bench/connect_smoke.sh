#!/bin/bash
# ctest smoke run of the connect benchmark: the built voxgate in a fresh
# network namespace with only `lo`, and 5 vg_bench_connect sessions against
# it; fails unless every session gets its first frame echoed intact.
#   bench/connect_smoke.sh BUILD_DIR
# Exits 77 (ctest: skipped) when not root, as network namespaces need it.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
. "$(dirname "$0")/lib.sh"
vg_smoke_begin connect_smoke vgsmoke
vg_server_start "$NS" 8080 "$LOG" "$BUILD/voxgate" --port 8080 --bind 127.0.0.1 --log-level warn
rc=0
ip netns exec "$NS" "$BUILD/vg_bench_connect" --url http://127.0.0.1:8080 -n 5 \
  --server-pid "$SERVER_PID" || rc=$?
[ "$rc" = 0 ] || cat "$LOG"
exit "$rc"
