#!/bin/bash
# Churn test: TOTAL sessions opened and closed BATCH at a time against one
# voxgate process, with echo sessions held beside the churn. Asserts that
# nothing leaks and nothing else is disturbed:
#
#   bench/churn.sh [--no-build] [--json FILE] [TOTAL [BATCH]]   (10000, 50)
#
#   1. a fresh voxgate in a network namespace (bench/compare_lib.sh: server
#      10.83.0.1, generator 10.83.0.2 over a veth pair); its RSS
#      (/proc/PID/status VmRSS) and open fds (/proc/PID/fd) — "fresh";
#   2. HOLD_N = 10 echo sessions held with media by a second generator for
#      the whole test (SIGTERM ends its hold at step 5);
#   3. a warm-up churn of TOTAL/10 sessions (at least 500), then 2 s —
#      "start": the allocator has reached its working set for BATCH +
#      HOLD_N sessions (glibc keeps freed chunks in its arenas and trims only
#      the top of the heap, so the level after a fresh start is not the
#      level the server returns to);
#   4. the churn: `voxgate_load --churn TOTAL --sessions BATCH`, then 2 s —
#      "end" (the held sessions still up, as at "start");
#   5. the held sessions end; 2 s later — "final" (no session, no client).
# Passes when:
#   - fds at end == fds at start, and final == fresh, exact, counting the
#     server's open fds less its established TCP connections (voxgate
#     serves every session on its one UDP port, so a session owns no
#     descriptor; a generator's HTTP keep-alive connection may be open at
#     one sample and idle-closed at the next, which is not a leak);
#   - RSS at end <= RSS at start + 2048 KB. Why that slack: with no leak,
#     the level after a churn still moves by up to ~1 MB from run to run
#     (measured here: +28 KB after 1,000 sessions, +1,024 KB after 600 —
#     the heap's top is trimmed in steps, and a freed large block may sit in
#     the middle of it); a leak of ~200 bytes per session over 10,000
#     sessions would exceed it, and one leaked session's state is ~200 KB;
#   - no churn session failed, /healthz reports 0 sessions at the end and
#     sessions_total = every session opened;
#   - the held echo sessions all connected and lost < 0.1 % of packets.
# Prints a summary and `CHURN_RESULT {json}` (also to --json FILE).
# Exit status 0 pass, 1 fail, 2 set-up error. Needs root (ip netns).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VG_BENCH_BUILD:-$ROOT/build/release}
BUILD_IT=1
JSON=""
die() { echo "churn.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) BUILD_IT="" ;;
    --json) JSON=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) break ;;
  esac
  shift
done
TOTAL=${1:-10000}
BATCH=${2:-50}
HOLD_N=10
RSS_SLACK_KB=2048
WARM=$((TOTAL / 10))
[ "$WARM" -ge 500 ] || WARM=500
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"

if [ -n "$BUILD_IT" ]; then
  "$ROOT/scripts/deps.sh" bench
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVG_TESTS=OFF >/dev/null
  cmake --build "$BUILD" -j2 --target voxgate voxgate_load >/dev/null || die "the build failed"
fi
[ -x "$BUILD/voxgate_load" ] || die "no $BUILD/voxgate_load"

# shellcheck disable=SC2034 # read by compare_lib.sh
CMP_ROOT=$ROOT CMP_BUILD=$BUILD
# shellcheck source=bench/compare_lib.sh
. "$ROOT/bench/compare_lib.sh"
OUT=$(mktemp -d /tmp/vg-churn.XXXXXX)
HOLDER_PID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  [ -z "$HOLDER_PID" ] || kill "$HOLDER_PID" 2>/dev/null || true
  cmp_net_down
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cmp_net_up
cmp_start voxgate "$OUT" || { cat "$CMP_LOG"; die "voxgate did not start"; }

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$CMP_PID/status"; }
# open fds, less the server's established TCP connections (HTTP keep-alive
# connections of the generators come and go with their idle timeout; they
# are not session state)
fds() {
  local all tcp
  all=$(find "/proc/$CMP_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
  tcp=$(ip netns exec "$CMP_SRV_NS" ss -Htnp state established | grep -c "pid=$CMP_PID," || true)
  echo $((all - tcp))
}
healthz() { cmp_cli curl -sf --max-time 2 "$CMP_URL/healthz"; }
load() {
  cmp_cli "$BUILD/voxgate_load" --url "$CMP_URL" --target whip --bind "$CMP_CLI_IP" \
    --server-pid "$CMP_PID" "$@"
}

sleep 1
fresh_rss=$(rss_kb) fresh_fds=$(fds)
echo "voxgate pid $CMP_PID; fresh: RSS $fresh_rss KB, $fresh_fds fds; load average $(cut -d' ' -f1-3 /proc/loadavg)"

# The held echo sessions, for the whole test: a hold longer than it can
# last, ended by SIGTERM at the end (the generator then closes its sessions
# and reports). Not through load(): $! must be the generator itself, which
# `ip netns exec` becomes, so that the SIGTERM reaches it.
ip netns exec "$CMP_CLI_NS" "$BUILD/voxgate_load" --url "$CMP_URL" --target whip \
  --bind "$CMP_CLI_IP" --sessions "$HOLD_N" --ramp 50 --hold 3600 \
  >"$OUT/held.out" 2>"$OUT/held.err" &
HOLDER_PID=$!
for _ in $(seq 100); do
  grep -q "all $HOLD_N sessions connected" "$OUT/held.err" 2>/dev/null && break
  kill -0 "$HOLDER_PID" 2>/dev/null || break
  sleep 0.1
done
sleep 1
echo "holding $HOLD_N echo sessions beside the churn"

t0=$(date +%s.%N)
load --churn "$WARM" --sessions "$BATCH" >"$OUT/warm.out" 2>"$OUT/warm.err" ||
  { tail "$OUT/warm.err"; die "the warm-up churn failed"; }
t1=$(date +%s.%N)
sleep 2
start_rss=$(rss_kb) start_fds=$(fds)
echo "after a warm-up churn of $WARM sessions ($(python3 -c "print(round($t1 - $t0))") s):" \
  "RSS $start_rss KB, $start_fds fds (start)"

t2=$(date +%s.%N)
crc=0
load --churn "$TOTAL" --sessions "$BATCH" >"$OUT/churn.out" 2>"$OUT/churn.err" || crc=$?
t3=$(date +%s.%N)
sleep 2
end_rss=$(rss_kb) end_fds=$(fds)
echo "after the churn of $TOTAL sessions: RSS $end_rss KB, $end_fds fds (end)"

still_held=0
kill -0 "$HOLDER_PID" 2>/dev/null && still_held=1 && kill -TERM "$HOLDER_PID"
hrc=0
wait "$HOLDER_PID" || hrc=$?
HOLDER_PID=""
sleep 2
final_rss=$(rss_kb) final_fds=$(fds)
echo "after the held sessions closed too: RSS $final_rss KB, $final_fds fds (final)"
hz=$(healthz || echo '{}')
alive=1
kill -0 "$CMP_PID" 2>/dev/null || alive=0

python3 - "$OUT" "$JSON" <<EOF
import json, sys
out, jf = sys.argv[1], sys.argv[2]
def result(name):
    for line in open(f"{out}/{name}.out", errors="replace"):
        if line.startswith("LOAD_RESULT "):
            return json.loads(line[12:])
    return {}
churn, held, hz = result("churn"), result("held"), json.loads('''$hz''' or "{}")
c = {
    "total": $TOTAL, "batch": $BATCH, "warm_up": $WARM, "churn_s": round($t3 - $t2, 1),
    "churn_rc": $crc, "held_rc": $hrc, "held_outlasted_churn": $still_held == 1,
    "server_alive": $alive == 1,
    "rss_kb": {"fresh": $fresh_rss, "start": $start_rss, "end": $end_rss, "final": $final_rss},
    "fds": {"fresh": $fresh_fds, "start": $start_fds, "end": $end_fds, "final": $final_fds},
    "rss_slack_kb": $RSS_SLACK_KB,
    "churn_connected": churn.get("sessions_connected"), "churn_failed": churn.get("sessions_failed"),
    "held_connected": held.get("sessions_connected"), "held_loss_pct": held.get("loss_pct"),
    "held_rtt_ms_p99": (held.get("rtt_ms") or {}).get("p99"),
    "healthz_sessions": hz.get("sessions"), "healthz_sessions_total": hz.get("sessions_total"),
}
checks = [
    ("fds back to start", c["fds"]["end"] == c["fds"]["start"] and c["fds"]["final"] == c["fds"]["fresh"],
     f'{c["fds"]["start"]} -> {c["fds"]["end"]}; fresh {c["fds"]["fresh"]}, final {c["fds"]["final"]}'),
    (f"RSS back to start (+{$RSS_SLACK_KB} KB)", c["rss_kb"]["end"] <= c["rss_kb"]["start"] + $RSS_SLACK_KB,
     f'{c["rss_kb"]["start"]} -> {c["rss_kb"]["end"]} KB ({c["rss_kb"]["end"] - c["rss_kb"]["start"]:+d} KB; '
     f'fresh {c["rss_kb"]["fresh"]} KB, final {c["rss_kb"]["final"]} KB)'),
    ("every churn session connected", c["churn_rc"] == 0 and c["churn_failed"] == 0
     and c["churn_connected"] == $TOTAL, f'{c["churn_connected"]} connected, {c["churn_failed"]} failed, rc {$crc}'),
    ("server state empty afterwards", c["server_alive"] and c["healthz_sessions"] == 0
     and c["healthz_sessions_total"] == $WARM + $TOTAL + $HOLD_N,
     f'/healthz sessions {c["healthz_sessions"]}, total {c["healthz_sessions_total"]} '
     f'(expected {$WARM + $TOTAL + $HOLD_N})'),
    ("held echo sessions undisturbed (< 0.1 % loss)", c["held_rc"] == 0 and c["held_connected"] == $HOLD_N
     and c["held_loss_pct"] is not None and c["held_loss_pct"] < 0.1 and c["held_outlasted_churn"],
     f'{c["held_connected"]}/{$HOLD_N} connected, loss {c["held_loss_pct"]} %, rtt p99 {c["held_rtt_ms_p99"]} ms'
     + ("" if c["held_outlasted_churn"] else ", ended before the churn did")),
]
for name, ok, what in checks:
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {what}")
c["pass"] = all(ok for _, ok, _ in checks)
c["summary"] = ("; ".join(f"{what}" for _, _, what in checks[:2])
                + f"; held loss {c['held_loss_pct']} %; {c['churn_s']} s")
print(f"churn: {$TOTAL} sessions, {$BATCH} at a time, in {c['churn_s']} s: {'PASS' if c['pass'] else 'FAIL'}")
print("CHURN_RESULT " + json.dumps(c))
if jf:
    json.dump(c, open(jf, "w"))
sys.exit(0 if c["pass"] else 1)
EOF
