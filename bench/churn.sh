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
#   2. a warm-up churn of TOTAL/10 sessions (at least 500), then 2 s with
#      no session and no client — "start": the allocator has reached its
#      working set (glibc keeps freed chunks in its arenas and trims only
#      the top of the heap, so the first level after a fresh start is not
#      the level the server returns to; the fresh figure is printed too);
#   3. HOLD_N = 10 echo sessions held with media (a second generator) for
#      the length of the churn, estimated from the warm-up;
#   4. the churn: `voxgate_load --churn TOTAL --sessions BATCH`;
#   5. once the held sessions ended too, 2 s later — "end".
# Passes when:
#   - fds at end == fds at start (exact: voxgate serves every session on
#     its one UDP port and one TCP port, so a session owns no descriptor;
#     when no client is connected the count is the same);
#   - RSS at end <= RSS at start + 1024 KB (allocator slack: a leak of
#     ~100 bytes per session over 10,000 sessions would exceed it; one
#     session's state is tens of KB, so a leaked session shows);
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
RSS_SLACK_KB=1024
WARM=$((TOTAL / 10))
[ "$WARM" -ge 500 ] || WARM=500
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"

if [ -n "$BUILD_IT" ]; then
  "$ROOT/scripts/deps.sh" bench
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVG_TESTS=OFF >/dev/null
  cmake --build "$BUILD" -j2 --target voxgate voxgate_load >/dev/null || die "the build failed"
fi
[ -x "$BUILD/voxgate_load" ] || die "no $BUILD/voxgate_load"

CMP_ROOT=$ROOT CMP_BUILD=$BUILD
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
fds() { find "/proc/$CMP_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
healthz() { cmp_cli curl -sf --max-time 2 "$CMP_URL/healthz"; }
load() {
  cmp_cli "$BUILD/voxgate_load" --url "$CMP_URL" --target whip --bind "$CMP_CLI_IP" \
    --server-pid "$CMP_PID" "$@"
}

sleep 1
fresh_rss=$(rss_kb) fresh_fds=$(fds)
echo "voxgate pid $CMP_PID; fresh: RSS $fresh_rss KB, $fresh_fds fds; load average $(cut -d' ' -f1-3 /proc/loadavg)"

t0=$(date +%s.%N)
load --churn "$WARM" --sessions "$BATCH" >"$OUT/warm.out" 2>"$OUT/warm.err" ||
  { tail "$OUT/warm.err"; die "the warm-up churn failed"; }
t1=$(date +%s.%N)
sleep 2
start_rss=$(rss_kb) start_fds=$(fds)
warm_s=$(python3 -c "print(round($t1 - $t0, 1))")
echo "after a warm-up churn of $WARM sessions (${warm_s%.*} s): RSS $start_rss KB, $start_fds fds"

# The held sessions outlast the churn: its length scaled from the warm-up,
# with a margin.
hold=$(python3 -c "print(int($warm_s * $TOTAL / $WARM * 1.3) + 10)")
load --sessions "$HOLD_N" --ramp 50 --hold "$hold" >"$OUT/held.out" 2>"$OUT/held.err" &
HOLDER_PID=$!
for _ in $(seq 100); do
  grep -q "all $HOLD_N sessions connected" "$OUT/held.err" 2>/dev/null && break
  kill -0 "$HOLDER_PID" 2>/dev/null || break
  sleep 0.1
done
sleep 1
echo "holding $HOLD_N echo sessions for $hold s beside the churn"

t2=$(date +%s.%N)
crc=0
load --churn "$TOTAL" --sessions "$BATCH" >"$OUT/churn.out" 2>"$OUT/churn.err" || crc=$?
t3=$(date +%s.%N)
still_held=0
kill -0 "$HOLDER_PID" 2>/dev/null && still_held=1
hrc=0
wait "$HOLDER_PID" || hrc=$?
HOLDER_PID=""
sleep 2
end_rss=$(rss_kb) end_fds=$(fds)
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
    "rss_kb": {"fresh": $fresh_rss, "start": $start_rss, "end": $end_rss},
    "fds": {"fresh": $fresh_fds, "start": $start_fds, "end": $end_fds},
    "rss_slack_kb": $RSS_SLACK_KB,
    "churn_connected": churn.get("sessions_connected"), "churn_failed": churn.get("sessions_failed"),
    "held_connected": held.get("sessions_connected"), "held_loss_pct": held.get("loss_pct"),
    "held_rtt_ms_p99": (held.get("rtt_ms") or {}).get("p99"),
    "healthz_sessions": hz.get("sessions"), "healthz_sessions_total": hz.get("sessions_total"),
}
checks = [
    ("fds back to start", c["fds"]["end"] == c["fds"]["start"],
     f'{c["fds"]["start"]} -> {c["fds"]["end"]}'),
    (f"RSS back to start (+{$RSS_SLACK_KB} KB)", c["rss_kb"]["end"] <= c["rss_kb"]["start"] + $RSS_SLACK_KB,
     f'{c["rss_kb"]["start"]} -> {c["rss_kb"]["end"]} KB ({c["rss_kb"]["end"] - c["rss_kb"]["start"]:+d} KB; fresh {c["rss_kb"]["fresh"]} KB)'),
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
