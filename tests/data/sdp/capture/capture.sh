#!/bin/bash
# Captures real browser offers (audio + video + data channel, after ICE
# gathering completes) into tests/data/sdp/. Not part of the normal test
# run; re-run it by hand (as root) when a browser's SDP changes:
#
#   tests/data/sdp/capture/capture.sh            # chromium and firefox
#   tests/data/sdp/capture/capture.sh chromium   # one of them
#   tests/data/sdp/capture/capture.sh verify     # browsers accept our answers?
#
# verify stores nothing: each browser makes the same offer, voxgate's
# vg_sdp_build_answer() answers it (answer_tool.c, built here with cc) and
# the page reports whether setRemoteDescription() accepted the answer and
# the transceivers' negotiated directions.
#
# Needs: apt-get install -y chromium firefox-esr iproute2
#
# The browsers run inside a network namespace made here: one veth pair to a
# second namespace that runs nothing, addresses in 10.203.117.0/24, IPv6
# off. Their candidates therefore carry only 10.203.117.1 (or mDNS names),
# and nothing they send can reach a real interface. Both namespaces and
# every process started here are removed by the exit trap.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
DEST=$(cd "$HERE/.." && pwd)
NS=vgsdp-cap-$$
PEER=vgsdp-peer-$$
ADDR=10.203.117.1
PEER_ADDR=10.203.117.2
PORT=18731
WORK=$(mktemp -d /tmp/vgsdp-capture.XXXXXX)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$NS" 2>/dev/null || true
  ip netns del "$PEER" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

ip netns add "$NS"
ip netns add "$PEER"
for ns in "$NS" "$PEER"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
  ip netns exec "$ns" ip link set lo up
done
ip link add vgsdp0-$$ netns "$NS" type veth peer name vgsdp1-$$ netns "$PEER"
ip netns exec "$NS" ip addr add "$ADDR/24" dev vgsdp0-$$
ip netns exec "$NS" ip link set vgsdp0-$$ up
ip netns exec "$PEER" ip addr add "$PEER_ADDR/24" dev vgsdp1-$$
ip netns exec "$PEER" ip link set vgsdp1-$$ up
# A default route (into the empty peer namespace) so the browsers pick the
# veth address as their default; nothing past it answers or forwards.
ip netns exec "$NS" ip route add default via "$PEER_ADDR"

ip netns exec "$NS" /usr/bin/python3 "$HERE/server.py" "$PORT" "$WORK" &
PIDS+=($!)
sleep 0.5

URL="http://127.0.0.1:$PORT/page.html"

run_chromium() { # NAME QUERY [FLAGS...]
  local name=$1 query=$2
  shift 2
  ip netns exec "$NS" chromium --headless=new --no-sandbox --disable-gpu \
    --user-data-dir="$WORK/chromium-$name" "$@" \
    --autoplay-policy=no-user-gesture-required \
    --disable-background-networking --disable-component-update --disable-sync \
    --no-first-run --disable-quic --disable-breakpad \
    "$URL?name=$name&$query" >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
}

run_firefox() { # NAME QUERY
  local prof="$WORK/firefox-$1"
  mkdir -p "$prof"
  cat >"$prof/user.js" <<'JS'
user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("app.update.enabled", false);
user_pref("app.normandy.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("services.settings.server", "http://127.0.0.1:1/");
JS
  ip netns exec "$NS" env HOME="$WORK" MOZ_HEADLESS=1 \
    firefox-esr --headless --no-remote --profile "$prof" "$URL?name=$1&$2" \
    >"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
}

wait_for() { # NAME
  for _ in $(seq 1 120); do
    if [ -f "$WORK/$1.sdp" ]; then return 0; fi
    if [ -f "$WORK/$1.err" ]; then
      echo "$1: the page failed: $(cat "$WORK/$1.err")" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "$1: no SDP after 60 s; browser log:" >&2
  tail -20 "$WORK/$1.log" >&2
  return 1
}

# Refuse to store a candidate whose address is not one of this namespace's.
check_addresses() { # FILE
  local bad
  bad=$(grep -a '^a=candidate' "$1" | awk '{print $5}' |
        grep -v -x -E "$ADDR|127\.0\.0\.1|0\.0\.0\.0|[0-9a-f-]+\.local" || true)
  if [ -n "$bad" ]; then
    echo "$1: candidate addresses outside the test namespace: $bad" >&2
    return 1
  fi
}

store() { # NAME
  check_addresses "$WORK/$1.sdp"
  cp "$WORK/$1.sdp" "$DEST/$1.sdp"
  echo "stored $DEST/$1.sdp ($(grep -c '^a=candidate' "$DEST/$1.sdp") candidates)"
}

build_answer_tool() {
  local root
  root=$(cd "$HERE/../../../.." && pwd)
  cc -std=c11 -O1 -I"$root/src" -o "$WORK/answer_tool" "$HERE/answer_tool.c" \
    "$root"/src/core/sdp.c "$root"/src/core/sdp_build.c "$root"/src/base/*.c
}

report() { # NAME
  echo "== $1: $(head -1 "$WORK/$1.sdp")"
}

want=${1:-all}
if [ "$want" = verify ]; then
  build_answer_tool
  run_chromium chromium-verify "media=1&verify=1" \
    --use-fake-ui-for-media-stream --use-fake-device-for-media-stream
  run_chromium chromium-recvonly-verify "media=0&verify=1"
  run_firefox firefox-verify "media=1&verify=1"
  rc=0
  for n in chromium-verify chromium-recvonly-verify firefox-verify; do
    if wait_for "$n"; then report "$n"; else rc=1; fi
  done
  exit $rc
fi
if [ "$want" = all ] || [ "$want" = chromium ]; then
  run_chromium chromium-offer "media=1" \
    --use-fake-ui-for-media-stream --use-fake-device-for-media-stream
  # No getUserMedia and no fake-UI grant: host addresses become mDNS names.
  run_chromium chromium-recvonly-offer "media=0"
  wait_for chromium-offer && store chromium-offer
  wait_for chromium-recvonly-offer && store chromium-recvonly-offer
fi
if [ "$want" = all ] || [ "$want" = firefox ]; then
  run_firefox firefox-offer "media=1"
  wait_for firefox-offer && store firefox-offer
fi
