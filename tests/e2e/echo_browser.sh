#!/usr/bin/env bash
# End-to-end: the voxgate page in headless Chromium talks to a real voxgate
# server over WebRTC, and the echo must carry the speech the fake microphone
# plays (see echo_browser.mjs for the checks).
#
#   tests/e2e/echo_browser.sh BUILD_DIR      (needs root: network namespaces)
#
# Two network namespaces joined by a veth pair, so that nothing leaves the
# machine: the server runs in one (10.77.0.1), Chromium in the other
# (10.77.0.2); the server's second address (10.77.0.3) serves the
# insecure-context check. The exit trap stops the processes in those
# namespaces and deletes them, whatever happened. Env: VOXGATE_E2E_SCREENSHOT=file.png
# keeps a screenshot of the connected page; VOXGATE_E2E_KEEP=1 keeps the
# work directory (logs, WAVs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: echo_browser.sh BUILD_DIR}
bin=$(cd "$build" && pwd)/voxgate
port=8080
server_ip=10.77.0.1
insecure_ip=10.77.0.3   # a second server address the browser does not treat as secure
client_ip=10.77.0.2

die() { echo "echo_browser: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces); run it as root or with sudo"
[ -x "$bin" ] || die "no server binary at $bin (build the 'voxgate' target first)"
"$here/deps.sh" || die "installing the test dependencies failed (tests/e2e/deps.sh)"

tag=$$
ns_s=vg-e2e-srv-$tag
ns_c=vg-e2e-cli-$tag
veth_s=vgs$tag
veth_c=vgc$tag
work=$(mktemp -d /tmp/voxgate-e2e.XXXXXX)
server_pid=

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Everything running in our namespaces was started by this script.
  for ns in "$ns_c" "$ns_s"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  sleep 0.2
  for ns in "$ns_c" "$ns_s"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ "$rc" != 0 ] && [ -f "$work/server.log" ]; then
    echo "--- server log (last 40 lines) ---" >&2
    tail -n 40 "$work/server.log" >&2
  fi
  if [ "${VOXGATE_E2E_KEEP:-}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Network: client ns <-> server ns over one veth pair.
ip netns add "$ns_s"
ip netns add "$ns_c"
ip link add "$veth_c" type veth peer name "$veth_s"
ip link set "$veth_s" netns "$ns_s"
ip link set "$veth_c" netns "$ns_c"
ip -n "$ns_s" addr add "$server_ip/24" dev "$veth_s"
ip -n "$ns_s" addr add "$insecure_ip/24" dev "$veth_s"
ip -n "$ns_c" addr add "$client_ip/24" dev "$veth_c"
for ns in "$ns_s" "$ns_c"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns_s" link set "$veth_s" up
ip -n "$ns_c" link set "$veth_c" up

"$here/make_speech.sh" "$work" >/dev/null

# The server, with its defaults (all interfaces, one port for TCP and UDP).
ip netns exec "$ns_s" "$bin" --port "$port" --log-level info >"$work/server.log" 2>&1 &
server_pid=$!
base="http://$server_ip:$port/"
for _ in $(seq 100); do
  kill -0 "$server_pid" 2>/dev/null || die "the server exited at start: $(tail -n 5 "$work/server.log")"
  ip netns exec "$ns_c" curl -sf -o /dev/null --max-time 1 "${base}healthz" && break
  sleep 0.1
done
ip netns exec "$ns_c" curl -sf -o /dev/null --max-time 1 "${base}healthz" || die "the server does not answer on ${base}healthz"
grep '^voxgate:' "$work/server.log" || true

shot=()
[ -n "${VOXGATE_E2E_SCREENSHOT:-}" ] && shot=(--screenshot "$(realpath -m "$VOXGATE_E2E_SCREENSHOT")")
passed=0 failed=0
ok()   { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

rc=0
timeout 90 ip netns exec "$ns_c" node "$here/echo_browser.mjs" \
  --url "${base}?raw=1" --speech "$work/speech.wav" --control "$work/control.wav" \
  --profile "$work/profile" --insecure-url "http://$insecure_ip:$port/?raw=1" "${shot[@]}" \
  | tee "$work/browser.log" || rc=$?
result=$(sed -n 's/^RESULT passed=\([0-9]*\) failed=\([0-9]*\)$/\1 \2/p' "$work/browser.log")
if [ -n "$result" ]; then
  passed=${result% *}; failed=${result#* }
else
  fail "the browser test ended early (exit $rc)"
fi
[ "$rc" = 0 ] || [ "$failed" != 0 ] || fail "the browser test exited $rc"

# Clean shutdown on SIGTERM, exit status 0 (the contract).
kill -TERM "$server_pid"
for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server_pid" 2>/dev/null; then
  fail "the server did not exit within 5 s of SIGTERM"
else
  server_rc=0
  wait "$server_pid" || server_rc=$?
  if [ "$server_rc" = 0 ]; then ok "the server exits 0 on SIGTERM"; else fail "the server exited $server_rc on SIGTERM"; fi
fi
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$work/server.log"; then
  fail "sanitizer report in the server log:"
  grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$work/server.log" | head -40
else
  ok "no sanitizer report in the server log"
fi
echo "echo_browser: $passed passed, $failed failed"
[ "$failed" = 0 ]
