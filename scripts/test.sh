#!/bin/sh
# The whole test suite, on a fresh Debian 12 machine: installs what it needs,
# builds with AddressSanitizer + UndefinedBehaviorSanitizer, runs every test.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh test
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Debug -DVG_SANITIZE=ON >/dev/null
cmake --build build/test -j "$jobs"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
ctest --test-dir build/test --output-on-failure -j "$jobs"

# End to end, with real peers, in network namespaces the tests create
# (each installs what it needs and cleans up after itself).
tests/e2e/echo_browser.sh build/test
tests/e2e/echo_aiortc.sh build/test
tests/e2e/reachability.sh build/test --quick
tests/e2e/transcribe_browser.sh build/test
tests/e2e/ws_fallback.sh build/test
# Reached only when all six suites passed (set -e): ctest, browser echo,
# aiortc, reachability, browser transcription, the WebSocket fallback
# behind an HTTP-only proxy.
echo "voxgate: 6 passed, 0 failed"
