#!/bin/bash
# Connect-time benchmark on loopback: builds release, starts voxgate in a
# fresh network namespace that has only `lo` (so nothing else is advertised
# or reachable), and runs vg_bench_connect against it.
#
#   bench/connect.sh [N]            N sequential sessions (default 200)
#
# Environment:
#   VG_BENCH_BUILD=DIR   build directory (default build/bench)
#   VG_BENCH_SERVER=aiortc   run bench/aiortc_echo_server.py instead of
#                        voxgate: the side-by-side reference
#   VG_BENCH_ARGS="..."  extra vg_bench_connect options (e.g. --fresh-connection)
#   VG_BENCH_CHROMIUM=K  then K sessions from the page in headless Chromium,
#                        timed by the page itself (default 5; 0 skips)
#
# Prints vg_bench_connect's table: median, p95, min, max and mean of offer ->
# answer, ICE connected, DTLS connected and first echoed packet, and the
# server's CPU time per session. The raw per-session times go to
# DIR/connect-<server>.csv. Needs root (ip netns).
set -euo pipefail

N=${1:-200}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VG_BENCH_BUILD:-$ROOT/build/bench}
SERVER_KIND=${VG_BENCH_SERVER:-voxgate}
PORT=8080
die() { echo "connect.sh: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"

"$ROOT/scripts/deps.sh" bench
[ "$SERVER_KIND" = aiortc ] && "$ROOT/tests/e2e/deps_aiortc.sh"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVG_TESTS=OFF >/dev/null
targets="vg_bench_connect"
[ "$SERVER_KIND" = voxgate ] && targets="voxgate $targets"
# shellcheck disable=SC2086
cmake --build "$BUILD" -j2 --target $targets >/dev/null
[ -x "$BUILD/vg_bench_connect" ] || die "vg_bench_connect was not built (libcurl missing?)"

. "$ROOT/bench/lib.sh"
NS=vgbench-$$
trap 'vg_ns_down "$NS"' EXIT
trap 'exit 130' INT TERM

vg_ns_up "$NS"
LOG="$BUILD/connect-server-$SERVER_KIND.log"
if [ "$SERVER_KIND" = voxgate ]; then
  vg_server_start "$NS" "$PORT" "$LOG" "$BUILD/voxgate" --port "$PORT" --bind 127.0.0.1 \
    --log-level warn --max-sessions 1000 || die "the server exited at start"
else
  vg_server_start "$NS" "$PORT" "$LOG" /usr/bin/python3 "$ROOT/bench/aiortc_echo_server.py" \
    --host-ip 127.0.0.1 --port "$PORT" || die "the server exited at start"
fi

echo "server: $SERVER_KIND (pid $SERVER_PID) on 127.0.0.1:$PORT in netns $NS; $(nproc) cores"
rc=0
extra=""
[ "$SERVER_KIND" = aiortc ] && extra="--any-echo" # it decodes and re-encodes: other bytes come back
# shellcheck disable=SC2086
ip netns exec "$NS" "$BUILD/vg_bench_connect" --url "http://127.0.0.1:$PORT" -n "$N" \
  --server-pid "$SERVER_PID" --csv "$BUILD/connect-$SERVER_KIND.csv" $extra ${VG_BENCH_ARGS:-} || rc=$?
kill -0 "$SERVER_PID" 2>/dev/null || { echo "connect.sh: the server died during the run"; rc=1; }

# The same with a real browser for a few sessions: the page's own timeline.
CHROMIUM_N=${VG_BENCH_CHROMIUM:-5}
if [ "$SERVER_KIND" = voxgate ] && [ "$CHROMIUM_N" -gt 0 ] && [ "$rc" = 0 ]; then
  "$ROOT/tests/e2e/deps.sh"
  WORK=$(mktemp -d /tmp/vg-bench-chromium.XXXXXX)
  "$ROOT/tests/e2e/make_speech.sh" "$WORK" >/dev/null
  echo
  # ?raw=1: no echo cancellation, noise suppression or gain control.
  timeout 120 ip netns exec "$NS" node "$ROOT/tests/e2e/connect_chromium.mjs" \
    --url "http://127.0.0.1:$PORT/?raw=1" --speech "$WORK/speech.wav" --profile "$WORK/profile" \
    --sessions "$CHROMIUM_N" || rc=$?
  rm -rf "$WORK"
fi
exit "$rc"
