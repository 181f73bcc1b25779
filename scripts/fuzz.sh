#!/bin/sh
# Runs the libFuzzer targets: scripts/fuzz.sh [TARGET] [SECONDS]
# New inputs go to a scratch copy of the corpus; crashes land in build/fuzz/.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test
CC=clang cmake -S . -B build/fuzz -DVG_FUZZ=ON -DVG_TESTS=OFF >/dev/null
cmake --build build/fuzz -j "$(nproc 2>/dev/null || echo 2)"
secs=${2:-60}
for t in ${1:-$(ls fuzz/corpus)}; do
  work=$(mktemp -d)
  cp fuzz/corpus/"$t"/* "$work"/
  echo "== fuzz_$t for ${secs}s"
  (cd build/fuzz && ./fuzz_"$t" -max_total_time="$secs" -max_len=4096 -print_final_stats=1 "$work") 2>&1 |
    grep -E 'stat::number_of_executed_units|ERROR|SUMMARY|crash-' || true
  rm -rf "$work"
done
