#!/bin/sh
# Installs the Debian packages voxgate needs, and only the missing ones.
#   scripts/deps.sh build   what the server build needs
#   scripts/deps.sh test    that plus what the test suite, fuzzers and bench/ need
#   scripts/deps.sh bench   the build plus what bench/ needs (libcurl)
set -eu
BUILD="build-essential cmake pkg-config libssl-dev libsrtp2-dev libuv1-dev libhttp-parser-dev libjansson-dev libopus-dev libsoxr-dev libwslay-dev libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us"
TEST="clang libclang-rt-14-dev openssl pocketsphinx-testdata flite sox python3-websockets"
BENCH="libcurl4-openssl-dev iproute2"
case "${1:-build}" in
  build) want="$BUILD" ;;
  test)  want="$BUILD $TEST $BENCH" ;; # the test build compiles bench/ too
  bench) want="$BUILD $BENCH" ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/apt_lib.sh
. "$here/apt_lib.sh"
# shellcheck disable=SC2086
apt_install_missing scripts/deps.sh $want
