#!/bin/sh
# Installs what bench/compare.sh and bench/churn.sh need on Debian 12, and
# only the missing packages:
#   janus                        the C WebRTC server compared against (echotest
#                                plugin, HTTP transport)
#   python3-aiortc python3-aiohttp  the Python WebRTC server compared against,
#                                and the peer that checks both servers echo
#   python3-numpy                the echo check's tone detector
#   iproute2 curl procps         namespaces and veth pairs, the HTTP probes,
#                                the load average
# plus what the release build and the load generator need (scripts/deps.sh
# bench).
#
# The janus package ships a systemd unit and an init script: installing it
# must not start a Janus on this machine. While apt runs, a policy-rc.d that
# denies service starts is in place (unless the machine already has one,
# which then decides), and the unit is never enabled by this script.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
"$here/../scripts/deps.sh" bench

# shellcheck source=scripts/apt_lib.sh
. "$here/../scripts/apt_lib.sh"
apt_install_missing bench/deps_compare.sh \
  janus python3-aiortc python3-aiohttp python3-numpy iproute2 curl procps
[ -n "$apt_installed" ] || exit 0
# Belt and braces: if a Janus service started anyway (a machine whose
# policy-rc.d allows it), stop it; the benchmark starts its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet janus 2>/dev/null; then
  $SUDO systemctl stop janus || true
fi
exit 0
