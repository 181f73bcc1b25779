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
# insecure-context check. The exit trap (lib/netns.sh) stops the processes
# in those namespaces and deletes them, whatever happened. Env: VOXGATE_E2E_SCREENSHOT=file.png
# keeps a screenshot of the connected page; VOXGATE_E2E_KEEP=1 keeps the
# work directory (logs, WAVs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_NAME=echo_browser
# shellcheck source-path=SCRIPTDIR source=lib/netns.sh
source "$here/lib/netns.sh"
build=${1:?usage: echo_browser.sh BUILD_DIR}
port=8080
server_ip=10.77.0.1
insecure_ip=10.77.0.3   # a second server address the browser does not treat as secure
client_ip=10.77.0.2

e2e_preflight "$build"
work=$E2E_WORK
E2E_ON_FAIL="e2e_show_logs server.log"
e2e_trap

tag=$$
ns_s=vg-e2e-srv-$tag
ns_c=vg-e2e-cli-$tag

# Network: client ns <-> server ns over one veth pair.
e2e_ns_add "$ns_s"
e2e_ns_add "$ns_c"
e2e_link "$ns_c" "vgc$tag" "$client_ip/24" "$ns_s" "vgs$tag" "$server_ip/24"
ip -n "$ns_s" addr add "$insecure_ip/24" dev "vgs$tag"

"$here/make_speech.sh" "$work" >/dev/null

# The server, with its defaults (all interfaces, one port for TCP and UDP).
e2e_server_start "$ns_s" "$work/server.log" --port "$port" --log-level info
base="http://$server_ip:$port/"
e2e_wait_http "$ns_c" "${base}healthz" "$E2E_SERVER_PID" \
  || e2e_die "the server does not answer on ${base}healthz: $(tail -n 5 "$work/server.log")"
grep '^voxgate:' "$work/server.log" || true

shot=()
[ -n "${VOXGATE_E2E_SCREENSHOT:-}" ] && shot=(--screenshot "$(realpath -m "$VOXGATE_E2E_SCREENSHOT")")

rc=0
timeout 90 ip netns exec "$ns_c" node "$here/echo_browser.mjs" \
  --url "${base}?raw=1" --speech "$work/speech.wav" --control "$work/control.wav" \
  --profile "$work/profile" --insecure-url "http://$insecure_ip:$port/?raw=1" "${shot[@]}" \
  | tee "$work/browser.log" || rc=$?
e2e_browser_result "$work/browser.log" "$rc"

# Clean shutdown on SIGTERM (exit status 0, the contract), no sanitizer report.
e2e_server_stop "$work/server.log" || true
passed=$((E2E_RESULT_OK + E2E_STOP_OK)) failed=$((E2E_RESULT_FAILED + E2E_STOP_FAILED))
echo "echo_browser: $passed passed, $failed failed"
[ "$failed" = 0 ]
