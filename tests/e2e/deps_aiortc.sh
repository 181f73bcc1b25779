#!/bin/sh
# Installs what the aiortc interop test (tests/e2e/echo_aiortc.sh) needs,
# from Debian's packages, and only the missing ones:
#   python3-aiortc python3-aiohttp  the independent WebRTC peer and its HTTP client
#   python3-numpy                   the windowed correlation
#   espeak-ng sox                   the speech WAVs
#   iproute2                        network namespaces and veth pairs
set -eu
want="python3-aiortc python3-aiohttp python3-numpy espeak-ng sox iproute2"
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install:$missing" >&2; exit 1; }
  SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
