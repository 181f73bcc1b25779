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

want="janus python3-aiortc python3-aiohttp python3-numpy iproute2 curl procps"
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "bench/deps_compare.sh: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root (or sudo) to install:$missing" >&2; exit 1; }
  SUDO=sudo
fi
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# bench/deps_compare.sh: no service starts while it installs packages\nexit 101\n' \
    | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy" && own_policy=1
fi
rc=0
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || rc=$?
# shellcheck disable=SC2086
[ "$rc" != 0 ] || $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null || rc=$?
[ -z "$own_policy" ] || $SUDO rm -f "$policy"
[ "$rc" = 0 ] || { echo "bench/deps_compare.sh: apt-get failed ($rc)" >&2; exit 1; }
# Belt and braces: if a Janus service started anyway (a machine whose
# policy-rc.d allows it), stop it; the benchmark starts its own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet janus 2>/dev/null; then
  $SUDO systemctl stop janus || true
fi
exit 0
