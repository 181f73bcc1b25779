#!/bin/bash
# ctest smoke run of the connect benchmark: the built voxgate in a fresh
# network namespace with only `lo`, and 5 vg_bench_connect sessions against
# it; fails unless every session gets its first frame echoed intact.
#   bench/connect_smoke.sh BUILD_DIR
# Exits 77 (ctest: skipped) when not root, as network namespaces need it.
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
[ "$(id -u)" = 0 ] || { echo "connect_smoke: skipped (needs root for ip netns)"; exit 77; }
command -v ip >/dev/null || { echo "connect_smoke: skipped (no iproute2)"; exit 77; }
NS=vgsmoke-$$
SERVER_PID=""
cleanup() {
  set +e
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
  fi
  ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
LOG=$(mktemp /tmp/vg-connect-smoke.XXXXXX)
ip netns exec "$NS" "$BUILD/voxgate" --port 8080 --bind 127.0.0.1 --log-level warn >"$LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do
  ip netns exec "$NS" bash -c "exec 3<>/dev/tcp/127.0.0.1/8080" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG"; rm -f "$LOG"; exit 1; }
  sleep 0.1
done
rc=0
ip netns exec "$NS" "$BUILD/vg_bench_connect" --url http://127.0.0.1:8080 -n 5 \
  --server-pid "$SERVER_PID" || rc=$?
[ "$rc" = 0 ] || cat "$LOG"
rm -f "$LOG"
exit "$rc"
