#!/usr/bin/env bash
# Installs what the end-to-end tests need on Debian 12, when it is missing:
# Chromium (Debian's; Playwright never downloads a browser), espeak-ng,
# flite and sox for the test speech, iproute2 for network namespaces, tc and ss,
# nftables for filters and NAT, openssh-server and openssh-client for the
# SSH-tunnel set-up, nginx for the HTTP-only proxy set-up, kmod (modprobe
# sch_netem), openssl (the served certificate's fingerprint), curl, Node.js
# and npm, python3-websockets (vosk_client.py, a Vosk-protocol client for
# /ws/asr), and playwright-core from package-lock.json (npm ci).
#
# Installing a package that ships a daemon (openssh-server, nginx) must not
# start one on this machine (Debian's nginx would listen on port 80 of the
# machine itself): the tests start their own sshd and nginx inside a
# namespace, with their own configuration, and stop them by PID.
# While apt runs, a policy-rc.d that denies service starts is in place
# (unless the machine already has one, which then decides).
#
#   deps.sh            what every e2e suite needs
#   deps.sh caddy      that, and Caddy (ws_fallback.sh with VOXGATE_E2E_PROXY=caddy)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "tests/e2e/deps.sh: $*" >&2; exit 1; }

declare -A pkg_of=([chromium]=chromium [espeak-ng]=espeak-ng [flite]=flite [sox]=sox [ip]=iproute2
                   [tc]=iproute2 [ss]=iproute2 [nft]=nftables [sshd]=openssh-server
                   [ssh]=openssh-client [ssh-keygen]=openssh-client [nginx]=nginx [modprobe]=kmod [openssl]=openssl
                   [curl]=curl [node]=nodejs [npm]=npm [timeout]=coreutils)
for extra in "$@"; do
  case $extra in
    caddy) pkg_of[caddy]=caddy ;;
    *) die "unknown extra '$extra' (known: caddy)" ;;
  esac
done
missing=()
for cmd in "${!pkg_of[@]}"; do
  # (sshd, nginx and modprobe live in /usr/sbin, not always on a user's PATH)
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/sbin/$cmd" ] \
    || [[ " ${missing[*]} " == *" ${pkg_of[$cmd]} "* ]] || missing+=("${pkg_of[$cmd]}")
done
# Python modules, not commands (Debian's python3: the scripts name /usr/bin/python3)
/usr/bin/python3 -c 'import websockets' 2>/dev/null || missing+=(python3-websockets)
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "missing ${missing[*]}; run as root to install them"
    sudo=sudo
  fi
  echo "tests/e2e/deps.sh: installing ${missing[*]}"
  $sudo apt-get update -qq || die "apt-get update failed"
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# tests/e2e/deps.sh: no service starts while it installs packages\nexit 101\n' \
      | $sudo tee "$policy" >/dev/null && $sudo chmod 755 "$policy" && own_policy=1
  fi
  rc=0
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || rc=$?
  [ -z "$own_policy" ] || $sudo rm -f "$policy"
  [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed"
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 18 ] || die "Node.js $node_major is too old (need 18 or newer)"

# npm ci only when node_modules is missing or older than the lock file.
stamp="$here/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ]; then
  echo "tests/e2e/deps.sh: npm ci"
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci failed in tests/e2e"
fi
