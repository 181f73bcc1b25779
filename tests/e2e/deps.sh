#!/usr/bin/env bash
# Installs what the end-to-end tests need on Debian 12, when it is missing:
# Chromium (Debian's; Playwright never downloads a browser), espeak-ng,
# flite and sox for the test speech, iproute2 for network namespaces, curl, Node.js
# and npm, and playwright-core from package-lock.json (npm ci).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "tests/e2e/deps.sh: $*" >&2; exit 1; }

declare -A pkg_of=([chromium]=chromium [espeak-ng]=espeak-ng [flite]=flite [sox]=sox [ip]=iproute2
                   [curl]=curl [node]=nodejs [npm]=npm [timeout]=coreutils)
missing=()
for cmd in "${!pkg_of[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_of[$cmd]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  sudo=
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "missing ${missing[*]}; run as root to install them"
    sudo=sudo
  fi
  echo "tests/e2e/deps.sh: installing ${missing[*]}"
  $sudo apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null || die "apt-get install ${missing[*]} failed"
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
