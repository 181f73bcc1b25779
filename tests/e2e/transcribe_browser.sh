#!/usr/bin/env bash
# End-to-end: the voxgate page in Transcribe mode, in headless Chromium,
# against a real voxgate server with its default engine (PocketSphinx).
# The fake microphone plays three sentences spoken by flite; the streamed
# transcript must be as good as the same engine decoding the same audio
# offline (see transcribe_browser.mjs for the checks).
#
#   tests/e2e/transcribe_browser.sh BUILD_DIR   (needs root: network namespaces)
#
# BUILD_DIR must hold the `voxgate` and `vg_asr_offline` targets. Two network
# namespaces joined by a veth pair (10.81.0.1 server, 10.81.0.2 browser), so
# nothing leaves the machine; the server runs with --token (the page sends
# it as a bearer token to WHIP and as ?token= to the event WebSocket) and
# --log-level debug. The exit trap stops the processes in those namespaces
# and deletes them, whatever happened. Env: VOXGATE_E2E_SCREENSHOT=file.png
# keeps a screenshot of the page after the transcript is complete;
# VOXGATE_E2E_KEEP=1 keeps the work directory (server log, browser log,
# every event received, WAV, offline result); VOXGATE_E2E_VOICE picks the
# flite voice (default rms).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: transcribe_browser.sh BUILD_DIR}
build=$(cd "$build" && pwd)
bin=$build/voxgate
tool=$build/tests/e2e/tools/vg_asr_offline
port=8080
server_ip=10.81.0.1
client_ip=10.81.0.2
token=e2e-$RANDOM$RANDOM

die() { echo "transcribe_browser: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (it creates network namespaces); run it as root or with sudo"
[ -x "$bin" ] || die "no server binary at $bin (build the 'voxgate' target first)"
[ -x "$tool" ] || die "no $tool (build the 'vg_asr_offline' target first)"
"$here/deps.sh" || die "installing the test dependencies failed (tests/e2e/deps.sh)"

tag=$$
ns_s=vg-tr-srv-$tag
ns_c=vg-tr-cli-$tag
veth_s=vts$tag
veth_c=vtc$tag
work=$(mktemp -d /tmp/voxgate-e2e-tr.XXXXXX)
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

# The speech and the offline baseline first: the decode takes a few
# seconds of CPU that should not compete with the live session.
"$here/make_flite_speech.sh" "$work" "${VOXGATE_E2E_VOICE:-rms}" >/dev/null
"$tool" decode "$work/transcribe16k.raw" >"$work/offline.json" 2>"$work/offline.log" \
  || die "the offline decode failed: $(tail -n 3 "$work/offline.log")"

# Network: client ns <-> server ns over one veth pair.
ip netns add "$ns_s"
ip netns add "$ns_c"
ip link add "$veth_c" type veth peer name "$veth_s"
ip link set "$veth_s" netns "$ns_s"
ip link set "$veth_c" netns "$ns_c"
ip -n "$ns_s" addr add "$server_ip/24" dev "$veth_s"
ip -n "$ns_c" addr add "$client_ip/24" dev "$veth_c"
for ns in "$ns_s" "$ns_c"; do
  ip -n "$ns" link set lo up
done
ip -n "$ns_s" link set "$veth_s" up
ip -n "$ns_c" link set "$veth_c" up

# The server with its default engine; the model loads before the port opens.
ip netns exec "$ns_s" "$bin" --port "$port" --token "$token" --log-level debug >"$work/server.log" 2>&1 &
server_pid=$!
base="http://$server_ip:$port/"
for _ in $(seq 200); do
  kill -0 "$server_pid" 2>/dev/null || die "the server exited at start: $(tail -n 5 "$work/server.log")"
  ip netns exec "$ns_c" curl -sf -o /dev/null --max-time 1 "${base}healthz" && break
  sleep 0.1
done
health=$(ip netns exec "$ns_c" curl -sf --max-time 1 "${base}healthz") \
  || die "the server does not answer on ${base}healthz"
grep '^voxgate:' "$work/server.log" || true
echo "healthz: $health"

shot=()
[ -n "${VOXGATE_E2E_SCREENSHOT:-}" ] && shot=(--screenshot "$(realpath -m "$VOXGATE_E2E_SCREENSHOT")")
passed=0 failed=0
ok()   { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

rc=0
timeout 90 ip netns exec "$ns_c" node "$here/transcribe_browser.mjs" \
  --url "${base}?raw=1" --speech "$work/transcribe.wav" --reference "$work/transcribe.txt" \
  --segments "$work/transcribe.segments" --offline "$work/offline.json" --tool "$tool" \
  --token "$token" --profile "$work/profile" --events-log "$work/events.jsonl" "${shot[@]}" \
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
echo "transcribe_browser: $passed passed, $failed failed"
[ "$failed" = 0 ]
