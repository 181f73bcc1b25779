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
# --log-level debug. The exit trap (lib/netns.sh) stops the processes in
# those namespaces and deletes them, whatever happened. Env: VOXGATE_E2E_SCREENSHOT=file.png
# keeps a screenshot of the page after the transcript is complete;
# VOXGATE_E2E_KEEP=1 keeps the work directory (server log, browser log,
# every event received, WAV, offline result); VOXGATE_E2E_VOICE picks the
# flite voice (default rms).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_NAME=transcribe_browser
# shellcheck source-path=SCRIPTDIR source=lib/netns.sh
source "$here/lib/netns.sh"
build=${1:?usage: transcribe_browser.sh BUILD_DIR}
port=8080
server_ip=10.81.0.1
client_ip=10.81.0.2
token=e2e-$RANDOM$RANDOM

tool=$(realpath -m "$build/tests/e2e/tools/vg_asr_offline")
[ -x "$tool" ] || e2e_die "no $tool (build the 'vg_asr_offline' target first)"
e2e_preflight "$build"
work=$E2E_WORK
E2E_ON_FAIL="e2e_show_logs server.log"
e2e_trap

# The speech and the offline baseline first: the decode takes a few
# seconds of CPU that should not compete with the live session.
"$here/make_flite_speech.sh" "$work" "${VOXGATE_E2E_VOICE:-rms}" >/dev/null
"$tool" decode "$work/transcribe16k.raw" >"$work/offline.json" 2>"$work/offline.log" \
  || e2e_die "the offline decode failed: $(tail -n 3 "$work/offline.log")"

# Network: client ns <-> server ns over one veth pair.
tag=$$
ns_s=vg-tr-srv-$tag
ns_c=vg-tr-cli-$tag
e2e_ns_add "$ns_s"
e2e_ns_add "$ns_c"
e2e_link "$ns_c" "vtc$tag" "$client_ip/24" "$ns_s" "vts$tag" "$server_ip/24"

# The server with its default engine; the model loads before the port opens.
e2e_server_start "$ns_s" "$work/server.log" --port "$port" --token "$token" --log-level debug
base="http://$server_ip:$port/"
e2e_wait_http "$ns_c" "${base}healthz" "$E2E_SERVER_PID" \
  || e2e_die "the server does not answer on ${base}healthz: $(tail -n 5 "$work/server.log")"
grep '^voxgate:' "$work/server.log" || true
echo "healthz: $(ip netns exec "$ns_c" curl -sf --max-time 1 "${base}healthz")"

shot=()
[ -n "${VOXGATE_E2E_SCREENSHOT:-}" ] && shot=(--screenshot "$(realpath -m "$VOXGATE_E2E_SCREENSHOT")")

rc=0
timeout 90 ip netns exec "$ns_c" node "$here/transcribe_browser.mjs" \
  --url "${base}?raw=1" --speech "$work/transcribe.wav" --reference "$work/transcribe.txt" \
  --segments "$work/transcribe.segments" --offline "$work/offline.json" --tool "$tool" \
  --token "$token" --profile "$work/profile" --events-log "$work/events.jsonl" "${shot[@]}" \
  | tee "$work/browser.log" || rc=$?
e2e_browser_result "$work/browser.log" "$rc"

# Clean shutdown on SIGTERM (exit status 0, the contract), no sanitizer report.
e2e_server_stop "$work/server.log" || true
passed=$((E2E_RESULT_OK + E2E_STOP_OK)) failed=$((E2E_RESULT_FAILED + E2E_STOP_FAILED))
echo "transcribe_browser: $passed passed, $failed failed"
[ "$failed" = 0 ]
