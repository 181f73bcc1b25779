#!/bin/bash
# Interop: aiortc (an independent WebRTC peer) as a WHIP client of voxgate's
# echo mode, over a veth pair between two network namespaces.
#
#   tests/e2e/echo_aiortc.sh BUILD_DIR        e.g. build/b
#
#   [ns vgaio-c-PID] 10.78.0.2 ──veth── 10.78.0.1 [ns vgaio-s-PID]
#     aiortc_whip.py                         BUILD_DIR/voxgate --bind 10.78.0.1
#
# Two sessions: one ended by DELETE, one by aiortc closing its peer
# connection (RTCP BYE and DTLS close_notify, no DELETE). Passes when aiortc
# connects both times, the returned audio carries the sentence it sent
# (windowed correlation, see aiortc_whip.py), DELETE answers 200, /healthz
# counts no session left after either ending, and the server then shuts
# down cleanly (exit 0, no sanitizer report). Needs root (ip netns).
# VG_E2E_SECONDS=N makes the first session last N s (default 5; over 30 s it
# shows that aiortc's consent checks keep the session alive). Set
# VG_E2E_SERVER=aiortc to run the same client against bench/aiortc_echo_server.py
# instead (a check of the harness itself).
set -euo pipefail

BUILD=${1:?usage: $0 BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$BUILD" && pwd)
PORT=8080
S_IP=10.78.0.1
C_IP=10.78.0.2
SERVER_KIND=${VG_E2E_SERVER:-voxgate}

die() { echo "echo_aiortc: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
if [ "$SERVER_KIND" = voxgate ]; then
  [ -x "$BUILD/voxgate" ] || die "no $BUILD/voxgate: build it first"
fi
"$ROOT/tests/e2e/deps_aiortc.sh"

TAG=$$
NS_S=vgaio-s-$TAG
NS_C=vgaio-c-$TAG
V_S=vgas$TAG
V_C=vgac$TAG
WORK=$(mktemp -d /tmp/vg-aiortc.XXXXXX)
SERVER_PID=""
KEEP_WORK=0

cleanup() {
  set +e
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
  fi
  ip netns del "$NS_C" 2>/dev/null
  ip netns del "$NS_S" 2>/dev/null
  if [ "$KEEP_WORK" = 1 ]; then echo "echo_aiortc: logs and WAVs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add "$V_S" type veth peer name "$V_C"
ip link set "$V_S" netns "$NS_S"
ip link set "$V_C" netns "$NS_C"
ip -n "$NS_S" addr add "$S_IP/24" dev "$V_S"
ip -n "$NS_C" addr add "$C_IP/24" dev "$V_C"
for ns in "$NS_S" "$NS_C"; do ip -n "$ns" link set lo up; done
ip -n "$NS_S" link set "$V_S" up
ip -n "$NS_C" link set "$V_C" up

# `ip netns exec` execs the command, so $! is the server's own pid.
if [ "$SERVER_KIND" = voxgate ]; then
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
  ip netns exec "$NS_S" "$BUILD/voxgate" --port "$PORT" --bind "$S_IP" --log-level info \
    >"$WORK/server.log" 2>&1 &
else
  ip netns exec "$NS_S" /usr/bin/python3 "$ROOT/bench/aiortc_echo_server.py" \
    --host-ip "$S_IP" --port "$PORT" >"$WORK/server.log" 2>&1 &
fi
SERVER_PID=$!

in_client() { ip netns exec "$NS_C" "$@"; }
http_get() { # URL -> body on stdout (Python's urllib: no curl binary needed)
  in_client /usr/bin/python3 -c 'import sys,urllib.request as u; print(u.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"
}

for _ in $(seq 100); do
  in_client bash -c "exec 3<>/dev/tcp/$S_IP/$PORT" 2>/dev/null && break
  kill -0 "$SERVER_PID" 2>/dev/null || { KEEP_WORK=1; cat "$WORK/server.log"; die "the server exited at start"; }
  sleep 0.1
done
echo "echo_aiortc: $SERVER_KIND up in $NS_S at $S_IP:$PORT (pid $SERVER_PID)"

sessions_left() { # -> the server's "sessions" count from /healthz
  http_get "http://$S_IP:$PORT/healthz" | sed -n 's/.*"sessions": *\([0-9]*\).*/\1/p'
}

rc=0
echo "=== 1. WHIP session ended by DELETE"
in_client /usr/bin/python3 "$ROOT/tests/e2e/aiortc_whip.py" --url "http://$S_IP:$PORT" \
  --host-ip "$C_IP" --workdir "$WORK" --seconds "${VG_E2E_SECONDS:-5}" || rc=$?

if [ "$SERVER_KIND" = voxgate ]; then
  # DELETE ended the session at once: none may be left.
  left=$(sessions_left || true)
  echo "echo_aiortc: sessions after DELETE: ${left:-?}"
  if [ "$left" != 0 ]; then
    echo "echo_aiortc: FAIL: the server still counts a session after DELETE"
    rc=1
  fi

  echo "=== 2. WHIP session ended by the peer closing (RTCP BYE, close_notify), no DELETE"
  in_client /usr/bin/python3 "$ROOT/tests/e2e/aiortc_whip.py" --url "http://$S_IP:$PORT" \
    --host-ip "$C_IP" --workdir "$WORK" --seconds 3 --no-delete || rc=$?
  for _ in $(seq 20); do
    left=$(sessions_left || true)
    [ "$left" = 0 ] && break
    sleep 0.1
  done
  echo "echo_aiortc: sessions after the peer closed: ${left:-?}"
  if [ "$left" != 0 ]; then
    echo "echo_aiortc: FAIL: the session outlived its peer's BYE/close_notify by 2 s"
    rc=1
  fi
  # Clean shutdown: SIGTERM -> exit 0, and no sanitizer report in its log.
  kill -TERM "$SERVER_PID"
  src=0
  wait "$SERVER_PID" || src=$?
  SERVER_PID=""
  if [ "$src" != 0 ]; then
    echo "echo_aiortc: FAIL: the server exited $src on SIGTERM"
    rc=1
  fi
  if grep -Eq "AddressSanitizer|LeakSanitizer|runtime error" "$WORK/server.log"; then
    echo "echo_aiortc: FAIL: sanitizer report in the server log:"
    grep -E -A20 "AddressSanitizer|LeakSanitizer|runtime error" "$WORK/server.log" | head -60
    rc=1
  fi
fi

if [ "$rc" != 0 ]; then
  KEEP_WORK=1
  echo "--- server log (last 40 lines) ---"
  tail -n 40 "$WORK/server.log"
fi
echo "echo_aiortc: $([ "$rc" = 0 ] && echo PASS || echo FAIL)"
exit "$rc"
