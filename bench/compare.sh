#!/bin/bash
# Side-by-side capacity benchmark: voxgate, Janus (echotest) and aiortc, the
# same loads from the same load generator (voxgate_load), one table.
#
#   bench/compare.sh [--quick] [--only "voxgate janus aiortc"] [--no-churn]
#                    [--same-n N] [--out DIR] [--no-build]
#
# It installs what it needs (bench/deps_compare.sh: Debian janus,
# python3-aiortc, python3-aiohttp, python3-numpy, and the build's packages),
# builds voxgate and voxgate_load (Release, VG_BENCH_BUILD or build/release),
# creates two network namespaces joined by a veth pair (server 10.83.0.1,
# generator 10.83.0.2; bench/compare_lib.sh), and for each server in turn
# (a fresh server process for every run):
#   0. checks with aiortc as the client that the server echoes a tone
#      (bench/echo_check.py) — a broken set-up stops here;
#   1. "same": the same N sessions (default 10: aiortc needs ~45 ms of CPU
#      per session-second, so 20 already saturate its one core on a busy
#      machine) held with media for 30 s (--quick 8 s): CPU per
#      session-second, delay, connect time;
#   2. "capacity": more sessions per server, 20 s each, until one is not
#      held (loss >= 0.1 %, a failed session, or the server died);
#   3. voxgate only: 1000 sessions for 60 s ("big"; --quick 500 for 15 s);
#      1000 idle sessions (memory per idle session); connect time of 100 new
#      sessions while a second generator holds 500 ("running" + "connect");
#   4. voxgate only: bench/churn.sh (10,000 sessions, 50 at a time; --quick
#      2,000) unless --no-churn.
# Then it prints every run, the summary table, the CPU ratios and the
# issue's targets, met or not. The whole run takes about 12 minutes
# (--quick: about 4). Exit status: 0 every target met, 1 one not met,
# 2 the set-up failed. Needs root (ip netns). The machine's load average
# is printed with each run: the figures move with what else runs.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VG_BENCH_BUILD:-$ROOT/build/release}
QUICK=""
ONLY="voxgate janus aiortc"
CHURN=1
BUILD_IT=1
SAME_N=""
OUT=""
die() { echo "compare.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY=$2; shift ;;
    --no-churn) CHURN="" ;;
    --no-build) BUILD_IT="" ;;
    --same-n) SAME_N=$2; shift ;;
    --out) OUT=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"

# The loads. Capacity steps stop at the first N that is not held.
# shellcheck disable=SC2034 # STEPS_<server> are read through ${!steps}
if [ -n "$QUICK" ]; then
  SAME_N=${SAME_N:-10}; SAME_HOLD=8; STEP_HOLD=8
  STEPS_voxgate="100 250"; STEPS_janus="100"; STEPS_aiortc="20"
  BIG_N=500; BIG_HOLD=15; IDLE_N=500; RUN_N=250; NEW_N=50; CHURN_TOTAL=2000
else
  SAME_N=${SAME_N:-10}; SAME_HOLD=30; STEP_HOLD=20
  STEPS_voxgate="100 250 500"; STEPS_janus="100 250 500"; STEPS_aiortc="20 40"
  BIG_N=1000; BIG_HOLD=60; IDLE_N=1000; RUN_N=500; NEW_N=100; CHURN_TOTAL=10000
fi

"$ROOT/bench/deps_compare.sh" || die "installing the packages failed"
if [ -n "$BUILD_IT" ]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVG_TESTS=OFF >/dev/null
  cmake --build "$BUILD" -j2 --target voxgate voxgate_load >/dev/null || die "the build failed"
fi
[ -x "$BUILD/voxgate_load" ] || die "no $BUILD/voxgate_load"

# shellcheck disable=SC2034 # read by compare_lib.sh
CMP_ROOT=$ROOT CMP_BUILD=$BUILD
# shellcheck source=bench/compare_lib.sh
. "$ROOT/bench/compare_lib.sh"
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/vg-compare.XXXXXX)
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
cmp_session

loadavg() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' /; }
# udp_drops NS: datagrams the kernel dropped in NS because a socket's
# receive buffer was full (Udp RcvbufErrors of /proc/net/snmp, per
# namespace): tells whether a loss happened at the server or the generator.
udp_drops() {
  # shellcheck disable=SC2016 # awk's own $i
  ip netns exec "$1" awk '/^Udp:/ { if (h) { for (i = 1; i <= NF; i++) if (n[i] == "RcvbufErrors") print $i }
                                    else { for (i = 1; i <= NF; i++) n[i] = $i; h = 1 } }' /proc/net/snmp
}

echo "compare: $(nproc) cores, load average $(loadavg); Janus $(dpkg-query -W -f='${Version}' janus)," \
  "aiortc $(dpkg-query -W -f='${Version}' python3-aiortc); logs and results in $OUT"

# run_load SERVER STEP N ARGS...: one generator run in the client namespace
# against the running server (CMP_PID), recorded in RESULTS. Returns 0 when
# the run held (all connected, loss < 0.1 %, server alive).
run_load() {
  local server=$1 step=$2 n=$3
  shift 3
  local log=$OUT/$server-$step-$n rc=0 la0 alive=1 srv0 cli0
  la0=$(loadavg)
  srv0=$(udp_drops "$CMP_SRV_NS") cli0=$(udp_drops "$CMP_CLI_NS")
  # the longest a run may take: ramp, hold, close, plus a margin
  cmp_cli timeout 600 "$BUILD/voxgate_load" --url "$CMP_URL" --target "$CMP_TARGET" \
    --bind "$CMP_CLI_IP" --server-pid "$CMP_PID" --sessions "$n" "$@" \
    >"$log.out" 2>"$log.err" || rc=$?
  kill -0 "$CMP_PID" 2>/dev/null || alive=0
  /usr/bin/python3 "$ROOT/bench/compare_report.py" record "$RESULTS" "$server" "$step" "$n" \
    "$rc" "$alive" "$la0" "$(loadavg)" $(($(udp_drops "$CMP_SRV_NS") - srv0)) \
    $(($(udp_drops "$CMP_CLI_NS") - cli0)) "$log.out" --sessions "$n" "$@"
  /usr/bin/python3 "$ROOT/bench/compare_report.py" held "$RESULTS"
}

# fresh SERVER: a new server process for the next run.
fresh() {
  cmp_stop
  sleep 0.5
  cmp_start "$1" "$OUT" || { cat "$CMP_LOG"; die "$1 did not start"; }
}

ramp_for() { [ "$1" = voxgate ] && echo 100 || echo 50; }

for server in $ONLY; do
  echo
  echo "== $server"
  fresh "$server"
  cmp_cli timeout 60 /usr/bin/python3 "$ROOT/bench/echo_check.py" --target "$CMP_TARGET" \
    --url "$CMP_URL" --host-ip "$CMP_CLI_IP" >"$OUT/$server-echo-check.log" 2>&1 ||
    { cat "$OUT/$server-echo-check.log"; die "$server does not echo (the check above)"; }
  echo "  echo check: $(sed -n 's/^ECHO_CHECK //p' "$OUT/$server-echo-check.log")"
  ramp=$(ramp_for "$server")

  fresh "$server"
  run_load "$server" same "$SAME_N" --ramp "$ramp" --hold "$SAME_HOLD" || true

  steps=STEPS_$server
  for n in ${!steps}; do
    [ "$n" = "$SAME_N" ] && continue
    fresh "$server"
    run_load "$server" capacity "$n" --ramp "$ramp" --hold "$STEP_HOLD" || {
      echo "  $server: $n sessions not held; no larger step"; break; }
  done

  if [ "$server" = voxgate ]; then
    fresh voxgate
    run_load voxgate big "$BIG_N" --ramp 100 --hold "$BIG_HOLD" || true
    fresh voxgate
    run_load voxgate idle "$IDLE_N" --ramp 200 --hold 5 --idle || true

    # Connect time with RUN_N sessions already running: a second generator
    # holds RUN_N with media while this one opens NEW_N more.
    fresh voxgate
    hold=$((RUN_N / 100 + NEW_N / 20 + 25))
    la0=$(loadavg)
    srv0=$(udp_drops "$CMP_SRV_NS") cli0=$(udp_drops "$CMP_CLI_NS")
    # ($! is the generator itself: `ip netns exec` execs it)
    ip netns exec "$CMP_CLI_NS" "$BUILD/voxgate_load" --url "$CMP_URL" --target whip --bind "$CMP_CLI_IP" \
      --server-pid "$CMP_PID" --sessions "$RUN_N" --ramp 100 --hold "$hold" \
      >"$OUT/voxgate-running-$RUN_N.out" 2>"$OUT/voxgate-running-$RUN_N.err" &
    CMP_HOLDER_PID=$!
    for _ in $(seq $((RUN_N / 10 + 100))); do
      grep -q "all $RUN_N sessions connected" "$OUT/voxgate-running-$RUN_N.err" 2>/dev/null && break
      kill -0 "$CMP_HOLDER_PID" 2>/dev/null || break
      sleep 0.1
    done
    sleep 2 # the running sessions in their steady state
    run_load voxgate connect "$NEW_N" --ramp 20 --hold 3 || true
    rc=0
    wait "$CMP_HOLDER_PID" || rc=$?
    CMP_HOLDER_PID=""
    drops_srv=$(udp_drops "$CMP_SRV_NS") drops_cli=$(udp_drops "$CMP_CLI_NS")
    alive=1
    kill -0 "$CMP_PID" 2>/dev/null || alive=0
    /usr/bin/python3 "$ROOT/bench/compare_report.py" record "$RESULTS" voxgate running "$RUN_N" \
      "$rc" "$alive" "$la0" "$(loadavg)" "$((drops_srv - srv0))" "$((drops_cli - cli0))" \
      "$OUT/voxgate-running-$RUN_N.out" \
      --sessions "$RUN_N" --ramp 100 --hold "$hold"
  fi
  cmp_stop
done

if [ -n "$CHURN" ] && [[ " $ONLY " == *" voxgate "* ]]; then
  cmp_net_down
  echo
  echo "== voxgate churn"
  VG_BENCH_BUILD=$BUILD "$ROOT/bench/churn.sh" --no-build --json "$OUT/churn.json" "$CHURN_TOTAL" 50 \
    | sed 's/^/  /' || true
  [ -f "$OUT/churn.json" ] && /usr/bin/python3 "$ROOT/bench/compare_report.py" churn "$RESULTS" "$OUT/churn.json"
fi

echo
echo "load average at the end: $(loadavg) ($(nproc) cores; the generator runs on the same cores)"
rc=0
/usr/bin/python3 "$ROOT/bench/compare_report.py" report "$RESULTS" | tee "$OUT/report.txt" || rc=$?
exit "$rc"
