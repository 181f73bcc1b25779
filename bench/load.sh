#!/bin/bash
# Load benchmark: builds release, starts voxgate in a network namespace
# whose only link is a veth pair to a second namespace, and runs
# voxgate_load there against it (the server's CPU, RSS and open files
# sampled from /proc).
#
#   bench/load.sh [voxgate_load options]     e.g. --sessions 1000 --hold 60
#
# The server is http://10.77.7.2:8080 in netns vgls-PID; the generator runs
# from 10.77.7.1 in netns vglc-PID; --url and --server-pid are supplied.
# Environment:
#   VG_BENCH_BUILD=DIR     build directory (default build/release)
#   VG_LOAD_SERVER_ARGS    extra voxgate options
#   VG_LOAD_SERVER_WRAP    a command prefix for the server (e.g. "env VAR=...")
#   VG_LOAD_SERVER_BIN     another voxgate binary (e.g. a sanitizer build)
#   VG_LOAD_PERF=FILE      record the server with `perf record -g` during the
#                          run and write `perf report` top symbols to FILE
# Needs root (ip netns).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VG_BENCH_BUILD:-$ROOT/build/release}
PORT=8080
die() { echo "load.sh: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"

"$ROOT/scripts/deps.sh" bench
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVG_SANITIZE=OFF -DVG_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target voxgate voxgate_load >/dev/null
[ -x "$BUILD/voxgate_load" ] || die "voxgate_load was not built (libcurl missing?)"

. "$ROOT/bench/lib.sh"
SNS=vgls-$$
CNS=vglc-$$
PERF_PID=""
cleanup() {
  [ -z "$PERF_PID" ] || kill -INT "$PERF_PID" 2>/dev/null || true
  vg_ns_down "$SNS"
  ip netns del "$CNS" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

vg_ns_up "$SNS"
vg_ns_up "$CNS"
ip link add vgl0 netns "$CNS" type veth peer name vgl1 netns "$SNS"
ip -n "$CNS" addr add 10.77.7.1/24 dev vgl0
ip -n "$SNS" addr add 10.77.7.2/24 dev vgl1
ip -n "$CNS" link set vgl0 txqueuelen 10000 up
ip -n "$SNS" link set vgl1 txqueuelen 10000 up

LOG="$BUILD/load-server.log"
ulimit -n "$(ulimit -Hn)" # a TCP connection per ICE-TCP session
# shellcheck disable=SC2086
ip netns exec "$SNS" ${VG_LOAD_SERVER_WRAP:-} "${VG_LOAD_SERVER_BIN:-$BUILD/voxgate}" --port "$PORT" --bind 10.77.7.2 --log-level warn \
  --max-sessions 5000 ${VG_LOAD_SERVER_ARGS:-} >"$LOG" 2>&1 &
SERVER_PID=$! # vg_ns_down stops it
for _ in $(seq 100); do
  ip netns exec "$CNS" bash -c "exec 3<>/dev/tcp/10.77.7.2/$PORT" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG"; die "the server exited at start"; }
  sleep 0.1
done
echo "server: voxgate (pid $SERVER_PID) on 10.77.7.2:$PORT in netns $SNS; $(nproc) cores;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
if [ -n "${VG_LOAD_PERF:-}" ]; then
  command -v perf >/dev/null || die "VG_LOAD_PERF needs perf (apt-get install linux-perf)"
  perf record -q -g -p "$SERVER_PID" -o "$BUILD/load-perf.data" >/dev/null 2>&1 &
  PERF_PID=$!
fi
rc=0
ip netns exec "$CNS" "$BUILD/voxgate_load" --url "http://10.77.7.2:$PORT" \
  --server-pid "$SERVER_PID" "$@" || rc=$?
kill -0 "$SERVER_PID" 2>/dev/null || { echo "load.sh: the server died during the run"; rc=1; }
# Datagrams the kernel dropped for a full socket buffer, on either side.
for ns in "$SNS" "$CNS"; do
  echo "udp drops in $ns: $(ip netns exec "$ns" cat /proc/net/snmp | awk '/^Udp:/ { if (!h) { split($0, k); h = 1 } else { for (i = 2; i <= NF; i++) if (k[i] ~ /RcvbufErrors|SndbufErrors|InErrors/) printf "%s=%s ", k[i], $i } }')" >&2
done
if [ -n "$PERF_PID" ]; then
  kill -INT "$PERF_PID"
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
  perf report -i "$BUILD/load-perf.data" --no-children --percent-limit 1 --stdio \
    --sort symbol 2>/dev/null | grep -v '^$' | head -60 >"$VG_LOAD_PERF"
  echo "perf: top server symbols in $VG_LOAD_PERF" >&2
fi
exit "$rc"
