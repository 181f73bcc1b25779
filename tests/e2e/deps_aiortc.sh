#!/bin/sh
# Installs what the aiortc interop test (tests/e2e/echo_aiortc.sh) needs,
# from Debian's packages, and only the missing ones:
#   python3-aiortc python3-aiohttp  the independent WebRTC peer and its HTTP client
#   python3-numpy                   the windowed correlation
#   espeak-ng sox                   the speech WAVs
#   iproute2                        network namespaces and veth pairs
set -eu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=scripts/apt_lib.sh
. "$here/../../scripts/apt_lib.sh"
apt_install_missing tests/e2e/deps_aiortc.sh \
  python3-aiortc python3-aiohttp python3-numpy espeak-ng sox iproute2
