# shellcheck shell=bash
# Shared by the e2e drivers (source it): network namespaces, veth links,
# the server's start and stop, and the cleanup that undoes all of it.
#
# Rule zero (TESTING.md): the browser and the server only ever run inside
# namespaces this script created, joined by veth pairs with addresses in
# private test ranges, so nothing is sent to the machine's real interfaces.
#
#   E2E_NAME=mytest; source lib/netns.sh
#   e2e_preflight BUILD_DIR           root, the binary (E2E_BIN), deps.sh
#   e2e_trap                          exit trap: e2e_teardown, work dir
#   e2e_ns_add NS                     a namespace with lo up (registered)
#   e2e_link NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN
#   e2e_spawn NS LOG CMD...           background process in NS (registered)
#   e2e_server_start NS LOG ARGS...   voxgate in NS -> E2E_SERVER_PID
#   e2e_wait_http NS URL              polls URL from NS for up to 10 s
#   e2e_browser_result LOG RC [TAG]   the browser script's RESULT line -> E2E_RESULT_OK/_FAILED
#   e2e_server_stop LOG               SIGTERM; checks exit 0 and sanitizers
#   e2e_teardown                      stops what was spawned, deletes the namespaces
#
# Every process started here is recorded by PID; teardown stops those, then
# whatever still runs inside our own namespaces (Chromium's children, sshd's
# per-connection children: all of them descend from our processes), and
# deletes the namespaces.

E2E_NAME=${E2E_NAME:-e2e}
E2E_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
E2E_NS=()        # namespaces created by this run
E2E_PIDS=()      # processes started by this run
E2E_SERVER_PID=
E2E_WORK=

e2e_die() { echo "$E2E_NAME: $*" >&2; exit 1; }

e2e_preflight() {
  local build=${1:?build directory}
  [ "$(id -u)" = 0 ] || e2e_die "needs root (it creates network namespaces); run it as root or with sudo"
  [ -d "$build" ] || e2e_die "no build directory $build"
  E2E_BIN=$(cd "$build" && pwd)/voxgate
  [ -x "$E2E_BIN" ] || e2e_die "no server binary at $E2E_BIN (build the 'voxgate' target first)"
  "$E2E_HERE/deps.sh" || e2e_die "installing the test dependencies failed (tests/e2e/deps.sh)"
  E2E_WORK=$(mktemp -d "/tmp/voxgate-$E2E_NAME.XXXXXX")
}

e2e_ns_add() {
  ip netns add "$1"
  E2E_NS+=("$1")
  ip -n "$1" link set lo up
}

# e2e_link NS1 IF1 ADDR1/LEN NS2 IF2 ADDR2/LEN: a veth pair, one end in each.
e2e_link() {
  ip link add "$2" type veth peer name "$5"
  ip link set "$2" netns "$1"
  ip link set "$5" netns "$4"
  ip -n "$1" addr add "$3" dev "$2"
  ip -n "$4" addr add "$6" dev "$5"
  ip -n "$1" link set "$2" up
  ip -n "$4" link set "$5" up
}

# e2e_spawn NS LOG CMD...: runs CMD in NS in the background, output to LOG;
# the PID (of CMD itself: ip netns exec execs it) goes to E2E_LAST_PID.
e2e_spawn() {
  local ns=$1 log=$2
  shift 2
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  E2E_LAST_PID=$!
  E2E_PIDS+=("$E2E_LAST_PID")
}

e2e_server_start() {
  local ns=$1 log=$2
  shift 2
  e2e_spawn "$ns" "$log" "$E2E_BIN" "$@"
  E2E_SERVER_PID=$E2E_LAST_PID
}

# e2e_wait_http NS URL [PID]: until URL answers 2xx from NS (10 s); with PID,
# fails at once when that process has exited.
e2e_wait_http() {
  local ns=$1 url=$2 pid=${3:-}
  for _ in $(seq 100); do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    ip netns exec "$ns" curl -sf -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.1
  done
  return 1
}

# e2e_browser_result LOG RC [TAG]: reads the "RESULT passed=N failed=M" line
# a browser script (*.mjs) prints last into E2E_RESULT_OK / E2E_RESULT_FAILED.
# A missing line, or a non-zero exit status RC with no failed check, counts
# (and prints) one failure; TAG prefixes those lines (e.g. "[b] ").
e2e_browser_result() {
  local log=$1 rc=$2 tag=${3:-} result
  result=$(sed -n 's/^RESULT passed=\([0-9]*\) failed=\([0-9]*\)$/\1 \2/p' "$log")
  if [ -z "$result" ]; then
    E2E_RESULT_OK=0 E2E_RESULT_FAILED=1
    echo "FAIL ${tag}the browser test ended early (exit $rc)"
    return
  fi
  E2E_RESULT_OK=${result% *} E2E_RESULT_FAILED=${result#* }
  if [ "$rc" != 0 ] && [ "$E2E_RESULT_FAILED" = 0 ]; then
    E2E_RESULT_FAILED=1
    echo "FAIL ${tag}the browser test exited $rc"
  fi
}

# e2e_server_stop LOG: SIGTERM to the server; prints one ok/FAIL line for
# the exit status (0 within 5 s, the contract) and one for sanitizer reports
# in LOG, and counts them in E2E_STOP_OK / E2E_STOP_FAILED. Call it in the
# script's own shell (not in $(...)): it waits for its child.
e2e_server_stop() {
  local log=$1 rc=0
  local pid=$E2E_SERVER_PID
  E2E_STOP_OK=0 E2E_STOP_FAILED=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    _e2e_stop_count FAIL "the server did not exit within 5 s of SIGTERM"
  else
    wait "$pid" || rc=$?
    if [ "$rc" = 0 ]; then _e2e_stop_count ok "the server exits 0 on SIGTERM"
    else _e2e_stop_count FAIL "the server exited $rc on SIGTERM"; fi
  fi
  E2E_SERVER_PID=
  if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$log"; then
    _e2e_stop_count FAIL "sanitizer report in the server log:"
    grep -E -A20 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log" | head -40
  else
    _e2e_stop_count ok "no sanitizer report in the server log"
  fi
  [ "$E2E_STOP_FAILED" = 0 ]
}

_e2e_stop_count() {
  if [ "$1" = ok ]; then echo "ok   $2"; E2E_STOP_OK=$((E2E_STOP_OK + 1))
  else echo "FAIL $2"; E2E_STOP_FAILED=$((E2E_STOP_FAILED + 1)); fi
}

e2e_teardown() {
  local pid ns
  for pid in "${E2E_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  # What still runs in our namespaces descends from the processes above.
  for ns in "${E2E_NS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  if [ "${#E2E_PIDS[@]}" != 0 ] || [ "${#E2E_NS[@]}" != 0 ]; then sleep 0.2; fi
  for pid in "${E2E_PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for ns in "${E2E_NS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
  done
  for pid in "${E2E_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  E2E_PIDS=()
  E2E_NS=()
  E2E_SERVER_PID=
}

# The exit trap: teardown, then the work directory (kept with
# VOXGATE_E2E_KEEP=1). E2E_ON_FAIL (a command), when set, runs first on a
# non-zero exit (e.g. E2E_ON_FAIL="e2e_show_logs server.log").
e2e_trap() {
  trap '_e2e_exit' EXIT
  trap 'exit 130' INT TERM
}

# The last 40 lines of each named file of the work directory that exists
# (on stderr): for E2E_ON_FAIL.
e2e_show_logs() {
  local f
  for f in "$@"; do
    [ -f "$E2E_WORK/$f" ] || continue
    echo "--- $f (last 40 lines) ---" >&2
    tail -n 40 "$E2E_WORK/$f" >&2
  done
}

_e2e_exit() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" != 0 ] && [ -n "${E2E_ON_FAIL:-}" ]; then $E2E_ON_FAIL || true; fi
  e2e_teardown
  if [ -n "$E2E_WORK" ]; then
    if [ "${VOXGATE_E2E_KEEP:-}" = 1 ]; then echo "work directory kept: $E2E_WORK"; else rm -rf "$E2E_WORK"; fi
  fi
  exit "$rc"
}
