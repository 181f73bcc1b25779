#!/bin/bash
# Transcription benchmark on loopback: builds release, and for each N
# starts voxgate with `--asr-streams N --workers 2` (PocketSphinx) in a
# fresh network namespace that has only `lo`, then runs vg_bench_transcribe
# with N concurrent sessions streaming a speech loop at real-time pace.
#
#   bench/transcribe.sh [N ...]       default: 1 2 4 6 8
#
# Environment:
#   VG_BENCH_BUILD=DIR      build directory (default build/bench)
#   VG_BENCH_DURATION=S     audio per session (default 20 s)
#   VG_BENCH_WORKERS=K      recognition threads (default 2)
#   VG_BENCH_ARGS="..."     extra vg_bench_transcribe options (e.g. --verbose)
#
# The speech loop: the PocketSphinx test recording ("go forward ten
# meters", a real voice) and two flite sentences, each followed by 1.5 s of
# low-level noise. Prints each run's report, then one Markdown table of
# all runs. Fails only when a server dies. Needs root (ip netns).
set -euo pipefail

NS_LIST=${*:-1 2 4 6 8}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${VG_BENCH_BUILD:-$ROOT/build/bench}
DURATION=${VG_BENCH_DURATION:-20}
WORKERS=${VG_BENCH_WORKERS:-2}
PORT=8080
die() { echo "transcribe.sh: $*" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
. "$ROOT/bench/lib.sh"

"$ROOT/scripts/deps.sh" test >/dev/null
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVG_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target voxgate vg_bench_transcribe >/dev/null
[ -x "$BUILD/vg_bench_transcribe" ] || die "vg_bench_transcribe was not built (libcurl missing?)"

NS=vgtbench-$$
WORK=$(mktemp -d /tmp/vg-tbench.XXXXXX)
trap 'vg_ns_down "$NS"; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# flite (rms voice) at 16 kHz mono s16le, as the engine's unit tests use.
speech=(--speech "/usr/share/pocketsphinx/test/data/goforward.raw=go forward ten meters")
i=0
for s in "open the door and close the window" "speech recognition works best with a clear voice"; do
  flite -voice rms -t "$s" -o "$WORK/s$i.wav"
  sox "$WORK/s$i.wav" -r 16000 -c 1 -b 16 -e signed-integer -t raw "$WORK/s$i.raw"
  speech+=(--speech "$WORK/s$i.raw=$s")
  i=$((i + 1))
done

vg_ns_up "$NS"
echo "$(nproc) cores; $DURATION s of audio per session; voxgate --workers $WORKERS"
rows=""
rc=0
for n in $NS_LIST; do
  # the model loads (N decoders) before the port opens
  vg_server_start "$NS" "$PORT" "$BUILD/transcribe-server-$n.log" "$BUILD/voxgate" \
    --port "$PORT" --bind 127.0.0.1 --log-level warn --asr-streams "$n" --workers "$WORKERS" \
    --max-sessions "$((n + 4))" || die "the server did not start (N=$n)"
  echo
  # shellcheck disable=SC2086
  out=$(ip netns exec "$NS" "$BUILD/vg_bench_transcribe" --url "http://127.0.0.1:$PORT" -n "$n" \
    --duration "$DURATION" --server-pid "$SERVER_PID" "${speech[@]}" ${VG_BENCH_ARGS:-}) || true
  echo "$out"
  rows+=$(echo "$out" | grep '^| ')$'\n'
  kill -0 "$SERVER_PID" 2>/dev/null || { echo "transcribe.sh: the server died (N=$n)"; rc=1; }
  vg_server_stop
done

echo
"$BUILD/vg_bench_transcribe" --table-header
printf '%s' "$rows"
exit "$rc"
