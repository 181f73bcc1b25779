#!/usr/bin/env bash
# End-to-end: voxgate behind an HTTP-only reverse proxy. The page, in
# headless Chromium, can reach the server only through nginx, which carries
# HTTP and WebSocket and nothing else: WebRTC's media cannot get through, and
# the page must switch to the WebSocket audio path (/ws/audio) by itself.
# The echo must carry the speech (Opus from WebCodecs, and PCM from an
# AudioWorklet), a transcript of flite speech must come through the same
# fallback, and a Vosk-protocol client must get its words from /ws/asr
# through the same proxy (see ws_fallback.mjs and vosk_client.py).
#
#   tests/e2e/ws_fallback.sh BUILD_DIR     (needs root: network namespaces)
#
# BUILD_DIR must hold the `voxgate` and `vg_asr_offline` targets. Three
# namespaces on 10.82.0.0/16, so that nothing leaves the machine:
#
#   client 10.82.2.2 ── 10.82.2.1 proxy (nginx :80) 10.82.1.2 ── 10.82.1.1 server (voxgate :8080)
#
# The client has a route to the proxy's subnet only, the proxy does not
# forward packets (net.ipv4.ip_forward=0 in its namespace), so the only way
# from the browser to the server is an HTTP request nginx makes on its
# behalf. nginx runs with tests/e2e/nginx_voxgate.conf (the README's
# configuration) inside an http block of its own, with its configuration,
# pid, logs and temp files under the work directory, started and stopped by
# PID. The exit trap (lib/netns.sh) stops every process started here and
# deletes the namespaces, whatever happened. Env: VOXGATE_E2E_KEEP=1 keeps
# the work directory (server, proxy and browser logs, WAVs);
# VOXGATE_E2E_SCREENSHOT=file.png keeps a screenshot of the page on the
# WebSocket path; VOXGATE_E2E_PROXY=caddy runs the same test through Caddy
# (the README's Caddyfile) instead of nginx (installs Debian's caddy
# through deps.sh; not part of scripts/test.sh).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_NAME=ws_fallback
# shellcheck source-path=SCRIPTDIR source=lib/netns.sh
source "$here/lib/netns.sh"
build=${1:?usage: ws_fallback.sh BUILD_DIR}
port=8080
server_ip=10.82.1.1
proxy_srv_ip=10.82.1.2   # the proxy's side toward the server
proxy_ip=10.82.2.1       # the proxy's side toward the client: the address the browser uses
client_ip=10.82.2.2

proxy=${VOXGATE_E2E_PROXY:-nginx}
case $proxy in nginx | caddy) ;; *) e2e_die "VOXGATE_E2E_PROXY must be nginx or caddy, not '$proxy'" ;; esac

tool=$(realpath -m "$build/tests/e2e/tools/vg_asr_offline")
[ -x "$tool" ] || e2e_die "no $tool (build the 'vg_asr_offline' target first)"
e2e_preflight "$build"
if [ "$proxy" = caddy ]; then "$here/deps.sh" caddy || e2e_die "installing Caddy failed (tests/e2e/deps.sh caddy)"; fi
work=$E2E_WORK
E2E_ON_FAIL="e2e_show_logs server.log nginx/error.log caddy.log"
e2e_trap
t_start=$(date +%s.%N)

# The speech: two espeak-ng sentences for the echo (speech and control),
# three flite sentences for the transcript. Their lead-in is 3 s: the page
# spends about 2 s trying WebRTC before the WebSocket carries the
# microphone, and the first sentence must not fall into that time. The
# offline baseline (the same engine over the whole file) runs first, before
# anything competes with the live sessions for the CPU.
"$here/make_speech.sh" "$work" >/dev/null
"$here/make_flite_speech.sh" "$work" "${VOXGATE_E2E_VOICE:-rms}" 3.0 >/dev/null
"$tool" decode "$work/transcribe16k.raw" >"$work/offline.json" 2>"$work/offline.log" \
  || e2e_die "the offline decode failed: $(tail -n 3 "$work/offline.log")"

# Network: client <-> proxy <-> server, two veth pairs, no forwarding.
tag=$$
ns_s=vg-wsf-srv-$tag
ns_p=vg-wsf-prx-$tag
ns_c=vg-wsf-cli-$tag
e2e_ns_add "$ns_s"
e2e_ns_add "$ns_p"
e2e_ns_add "$ns_c"
e2e_link "$ns_s" "vws$tag" "$server_ip/24" "$ns_p" "vwp$tag" "$proxy_srv_ip/24"
e2e_link "$ns_c" "vwc$tag" "$client_ip/24" "$ns_p" "vwq$tag" "$proxy_ip/24"
ip netns exec "$ns_p" sysctl -qw net.ipv4.ip_forward=0

# The server: default fallback time unless this build has the flag (then
# it is set to what the page must read from the X-Voxgate-Fallback-Ms
# header).
server_args=(--port "$port" --log-level info)
fallback_ms=
if "$E2E_BIN" --help 2>&1 | grep -q -- '--ws-fallback-ms'; then
  fallback_ms=2000
  server_args+=(--ws-fallback-ms "$fallback_ms")
fi
e2e_server_start "$ns_s" "$work/server.log" "${server_args[@]}"
e2e_wait_http "$ns_p" "http://$server_ip:$port/healthz" "$E2E_SERVER_PID" \
  || e2e_die "the server does not answer on http://$server_ip:$port/healthz: $(tail -n 5 "$work/server.log")"
grep '^voxgate:' "$work/server.log" || true

# The proxy in its namespace, everything of its own under $work.
start_nginx() {
  ngx=$work/nginx
  mkdir -p "$ngx/tmp"
  cat >"$ngx/nginx.conf" <<EOF
# ws_fallback.sh: a private nginx for one test run.
daemon off;
user root;             # its files live in the test's private work directory
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/error.log info;
events { worker_connections 256; }
http {
    client_body_temp_path $ngx/tmp/body;
    proxy_temp_path $ngx/tmp/proxy;
    fastcgi_temp_path $ngx/tmp/fastcgi;
    uwsgi_temp_path $ngx/tmp/uwsgi;
    scgi_temp_path $ngx/tmp/scgi;
    upstream voxgate { server $server_ip:$port; }
    include $here/nginx_voxgate.conf;
    access_log $ngx/access.log voxgate;    # the format it defines: no query strings
}
EOF
  nginx_cmd=(/usr/sbin/nginx -p "$ngx/" -e "$ngx/error.log" -c "$ngx/nginx.conf")
  ip netns exec "$ns_p" "${nginx_cmd[@]}" -t -q || e2e_die "nginx rejects the configuration ($ngx/nginx.conf)"
  e2e_spawn "$ns_p" "$work/nginx.out" "${nginx_cmd[@]}"
  proxy_pid=$E2E_LAST_PID
  proxy_log=$ngx/error.log
  proxy_server=nginx
  proxy_stop_signal=QUIT    # nginx: graceful
}

# Caddy with the README's site block (plain http here: no certificate
# authority to ask), its state under $work/caddy, no admin endpoint.
start_caddy() {
  local cdy=$work/caddy
  mkdir -p "$cdy"
  cat >"$cdy/Caddyfile" <<EOF
{
	admin off
	auto_https off
	storage file_system $cdy/data
}
http://:80 {
	reverse_proxy $server_ip:$port {
		flush_interval -1
	}
}
EOF
  local env_=(env HOME="$cdy" XDG_DATA_HOME="$cdy/data" XDG_CONFIG_HOME="$cdy/config")
  ip netns exec "$ns_p" "${env_[@]}" caddy validate --config "$cdy/Caddyfile" --adapter caddyfile >"$cdy/validate.log" 2>&1 \
    || e2e_die "caddy rejects the configuration: $(tail -n 3 "$cdy/validate.log")"
  e2e_spawn "$ns_p" "$work/caddy.log" "${env_[@]}" caddy run --config "$cdy/Caddyfile" --adapter caddyfile
  proxy_pid=$E2E_LAST_PID
  proxy_log=$work/caddy.log
  proxy_server=Caddy
  proxy_stop_signal=TERM    # caddy: graceful
}

"start_$proxy"
base="http://$proxy_ip/"
e2e_wait_http "$ns_c" "${base}healthz" "$proxy_pid" \
  || e2e_die "no answer through $proxy at ${base}healthz: $(tail -n 5 "$proxy_log")"

# The network is what it claims: the client reaches the server only
# through the proxy.
pre_ok=0 pre_failed=0
pre() {
  if [ "$1" = ok ]; then echo "ok   $2"; pre_ok=$((pre_ok + 1)); else echo "FAIL $2"; pre_failed=$((pre_failed + 1)); fi
}
if ip netns exec "$ns_c" curl -s -o /dev/null --max-time 2 "http://$server_ip:$port/healthz"; then
  pre FAIL "the client must not reach the server directly ($server_ip:$port answered)"
else
  pre ok "the client cannot reach the server directly (no route to $server_ip)"
fi
if ip netns exec "$ns_c" ip route get "$server_ip" >/dev/null 2>&1; then
  pre FAIL "the client has a route to $server_ip"
else
  pre ok "the client has no route to the server's subnet (UDP cannot get there either)"
fi
headers=$(ip netns exec "$ns_c" curl -s -D - -o /dev/null --max-time 2 "${base}healthz")
if grep -qi "^Server: $proxy_server" <<<"$headers"; then pre ok "GET /healthz through the proxy answers (Server: $proxy_server)"
else pre FAIL "GET /healthz through the proxy: $headers"; fi
if grep -qi '^X-Voxgate-Proxied: 1' <<<"$headers"; then proxied_hdr=1; else proxied_hdr=0; fi
echo "X-Voxgate-Proxied through $proxy: $([ "$proxied_hdr" = 1 ] && echo 1 || echo absent)"
# The access log (nginx_voxgate.conf's log format) keeps the paths of the
# WebSocket URLs the page opens, not their ?token= (a plain GET is logged
# like an upgrade).
if [ "$proxy" = nginx ]; then
  log_token=e2e-log-check-$$
  for path in ws/audio whip/0123456789abcdef/events; do
    ip netns exec "$ns_c" curl -s -o /dev/null --max-time 2 "${base}$path?token=$log_token" || true
  done
  if grep -q "$log_token" "$ngx/access.log"; then
    pre FAIL "the access log records the token: $(grep "$log_token" "$ngx/access.log" | head -n 1)"
  elif grep -q '"GET /ws/audio HTTP/1.1"' "$ngx/access.log" &&
       grep -q '"GET /whip/0123456789abcdef/events HTTP/1.1"' "$ngx/access.log"; then
    pre ok "the access log records /ws/audio and /whip/<id>/events without ?token="
  else
    pre FAIL "the access log lacks the two requests: $(tail -n 2 "$ngx/access.log")"
  fi
fi

shot=()
[ -n "${VOXGATE_E2E_SCREENSHOT:-}" ] && shot=(--screenshot "$(realpath -m "$VOXGATE_E2E_SCREENSHOT")")
t_browser=$(date +%s.%N)
rc=0
timeout 150 ip netns exec "$ns_c" node "$here/ws_fallback.mjs" \
  --url "${base}?raw=1" --speech "$work/speech.wav" --control "$work/control.wav" \
  --tr-speech "$work/transcribe.wav" --reference "$work/transcribe.txt" \
  --segments "$work/transcribe.segments" --offline "$work/offline.json" --tool "$tool" \
  --profile "$work/profile" --fallback-ms "${fallback_ms:-none}" --proxied "$proxied_hdr" "${shot[@]}" \
  | tee "$work/browser.log" || rc=$?
e2e_browser_result "$work/browser.log" "$rc"
t_browser_end=$(date +%s.%N)

# (d) A Vosk-protocol client (written to vosk-server's documentation, not
# to voxgate) through the same proxy, against /ws/asr.
vosk_ok=0 vosk_failed=0
if [ -f "$here/vosk_client.py" ]; then
  sox "$work/transcribe.wav" -r 16000 -c 1 -b 16 "$work/vosk16k.wav"
  vrc=0
  t_vosk=$(date +%s.%N)
  timeout 60 ip netns exec "$ns_c" /usr/bin/python3 "$here/vosk_client.py" \
    "ws://$proxy_ip/ws/asr" "$work/vosk16k.wav" >"$work/vosk.out" 2>"$work/vosk.err" || vrc=$?
  echo "vosk_client.py through $proxy: exit $vrc after $(awk -v a="$t_vosk" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s"
  sed 's/^/  [vosk] /' "$work/vosk.err" | tail -n 10
  vosk_text=$(tail -n 1 "$work/vosk.out")
  echo "  [vosk] text: $vosk_text"
  if [ "$vrc" = 0 ] && [ -n "$vosk_text" ]; then
    # The same rules as the page's transcript (lib/asr.mjs): the key words,
    # and the WER through the one implementation.
    verdict=$(node --input-type=module -e "
      import { wer, keyWords, KEYWORD_SHARE } from '$here/lib/asr.mjs';
      import { readFileSync } from 'node:fs';
      const [refFile, tool, hyp] = process.argv.slice(1);
      const ref = readFileSync(refFile, 'utf8').trim().split('\\n').join(' ');
      const w = wer(tool, ref, hyp), kw = keyWords(ref, hyp);
      const ok = kw.missing.length <= (1 - KEYWORD_SHARE) * kw.words.length && w.wer <= 0.2;
      console.log((ok ? 'ok' : 'FAIL') + ' ' + w.wer.toFixed(4) + ' ' + w.errors + '/' + w.ref_words + ' ' +
        (kw.words.length - kw.missing.length) + '/' + kw.words.length + (kw.missing.length ? ' missing ' + kw.missing.join(' ') : ''));
    " "$work/transcribe.txt" "$tool" "$vosk_text")
    echo "VOSK_WER ${verdict#* }"
    if [ "${verdict%% *}" = ok ]; then
      echo "ok   /ws/asr through $proxy (Vosk client): the key words, WER at most 20 %: ${verdict#* }"; vosk_ok=1
    else
      echo "FAIL /ws/asr through $proxy (Vosk client): ${verdict#* } in \"$vosk_text\""; vosk_failed=1
    fi
  else
    echo "FAIL /ws/asr through $proxy (Vosk client) exited $vrc without a transcript"; vosk_failed=1
  fi
else
  echo "skip /ws/asr through $proxy: no tests/e2e/vosk_client.py in this tree"
fi

# The proxy stops gracefully, by PID.
ngx_ok=0 ngx_failed=0
kill -"$proxy_stop_signal" "$proxy_pid" 2>/dev/null || true
for _ in $(seq 50); do kill -0 "$proxy_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$proxy_pid" 2>/dev/null; then
  echo "FAIL $proxy did not stop within 5 s of SIG$proxy_stop_signal"; ngx_failed=1
else
  echo "ok   $proxy stopped (SIG$proxy_stop_signal, by PID)"; ngx_ok=1
fi
if [ "$proxy" = nginx ] && grep -E '\[(emerg|alert|crit)\]' "$proxy_log"; then
  echo "FAIL nginx logged errors above"; ngx_failed=$((ngx_failed + 1))
fi

# Clean shutdown on SIGTERM (exit status 0, the contract), no sanitizer report.
e2e_server_stop "$work/server.log" || true
t_end=$(date +%s.%N)
echo "ws_fallback: set-up and baseline $(awk -v a="$t_start" -v b="$t_browser" 'BEGIN { printf "%.1f", b - a }') s, " \
  "browser $(awk -v a="$t_browser" -v b="$t_browser_end" 'BEGIN { printf "%.1f", b - a }') s, " \
  "total $(awk -v a="$t_start" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }') s"
passed=$((pre_ok + E2E_RESULT_OK + vosk_ok + ngx_ok + E2E_STOP_OK))
failed=$((pre_failed + E2E_RESULT_FAILED + vosk_failed + ngx_failed + E2E_STOP_FAILED))
echo "ws_fallback: $passed passed, $failed failed"
[ "$failed" = 0 ]
