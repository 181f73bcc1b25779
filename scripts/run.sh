#!/bin/sh
# Builds voxgate (release) and starts the server.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh build
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVG_TESTS=OFF >/dev/null
cmake --build build/release -j "$jobs"
if [ -x build/release/voxgate ]; then
  exec build/release/voxgate "$@"
fi
echo "Built the voxgate core library (build/release/libvoxgate_core.a)."
echo "The server binary does not exist yet: the WebRTC core is done, the server"
echo "(event loop, HTTP/WHIP, web page) is the next step. Run scripts/test.sh to"
echo "see the core tested end to end in simulated time."
