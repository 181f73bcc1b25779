# shellcheck shell=sh
# Sourced by the scripts that install Debian packages (scripts/deps.sh,
# tests/e2e/deps_aiortc.sh, bench/deps_compare.sh); POSIX sh.
#
# apt_install_missing WHO PACKAGE...
#   Installs the packages that dpkg does not list as installed, and nothing
#   when all are. WHO names the caller in its messages. Needs root or sudo.
#   No service starts while apt runs: a policy-rc.d that denies them is in
#   place (unless the machine already has one, which then decides), so a
#   package that ships a unit or an init script (janus) stays stopped.
#   Returns 0 and sets apt_installed to 1 when it installed something (empty
#   when nothing was missing), or exits 1 when it cannot install.
apt_install_missing() {
  apt_who=$1
  shift
  apt_installed=""
  apt_missing=""
  for apt_p in "$@"; do
    dpkg-query -W -f='${Status}' "$apt_p" 2>/dev/null | grep -q "install ok installed" ||
      apt_missing="$apt_missing $apt_p"
  done
  [ -n "$apt_missing" ] || return 0
  echo "$apt_who: installing:$apt_missing"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "need root (or sudo) to install:$apt_missing" >&2; exit 1; }
    SUDO=sudo
  fi
  apt_policy=/usr/sbin/policy-rc.d
  apt_own_policy=""
  if [ ! -e "$apt_policy" ]; then
    printf '#!/bin/sh\n# %s: no service starts while it installs packages\nexit 101\n' "$apt_who" \
      | $SUDO tee "$apt_policy" >/dev/null && $SUDO chmod 755 "$apt_policy" && apt_own_policy=1
  fi
  apt_rc=0
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq || apt_rc=$?
  # shellcheck disable=SC2086
  [ "$apt_rc" != 0 ] || $SUDO apt-get install -y -qq --no-install-recommends $apt_missing >/dev/null ||
    apt_rc=$?
  [ -z "$apt_own_policy" ] || $SUDO rm -f "$apt_policy"
  [ "$apt_rc" = 0 ] || { echo "$apt_who: apt-get failed ($apt_rc)" >&2; exit 1; }
  # shellcheck disable=SC2034 # read by the caller
  apt_installed=1
  return 0
}
