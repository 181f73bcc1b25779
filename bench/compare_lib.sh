# shellcheck shell=bash
# Shared by bench/compare.sh and bench/churn.sh (source it): two network
# namespaces joined by a veth pair, and the three echo servers started in
# the server's namespace and stopped by pid.
#
#   cmp_net_up                  namespaces CMP_SRV_NS (10.83.0.1/24) and
#                               CMP_CLI_NS (10.83.0.2/24) over one veth pair
#   cmp_net_down                stops what was started, deletes both
#   cmp_start KIND WORK         starts voxgate|janus|aiortc in CMP_SRV_NS on
#                               its address, waits until its signaling
#                               answers; sets CMP_PID, CMP_URL, CMP_TARGET
#                               (the load generator's --target), CMP_LOG
#   cmp_stop                    stops CMP_PID (SIGTERM, then SIGKILL after 10 s)
#   cmp_cli CMD...              runs CMD in the client namespace
#   cmp_session                 cmp_net_up, and on exit (or INT/TERM) kills
#                               CMP_HOLDER_PID when set (the caller's held
#                               sessions) and runs cmp_net_down
#
# Needs CMP_ROOT (the source tree) and CMP_BUILD (the release build dir).
# Rule zero (shared/TESTING.md): the servers and the load generator only
# ever run inside these namespaces; nothing is sent to the machine's own
# interfaces. Every address is in 10.83.0.0/16.

CMP_SRV_NS=vgcmp-srv-$$
CMP_CLI_NS=vgcmp-cli-$$
CMP_SRV_IF=vgcs$$
CMP_CLI_IF=vgcc$$
CMP_SRV_IP=10.83.0.1
CMP_CLI_IP=10.83.0.2
CMP_PID=""
CMP_NET=""
CMP_HOLDER_PID=""

cmp_net_up() {
  ip netns add "$CMP_SRV_NS"
  ip netns add "$CMP_CLI_NS"
  CMP_NET=1
  ip -n "$CMP_SRV_NS" link set lo up
  ip -n "$CMP_CLI_NS" link set lo up
  ip link add "$CMP_SRV_IF" type veth peer name "$CMP_CLI_IF"
  ip link set "$CMP_SRV_IF" netns "$CMP_SRV_NS"
  ip link set "$CMP_CLI_IF" netns "$CMP_CLI_NS"
  ip -n "$CMP_SRV_NS" addr add "$CMP_SRV_IP/24" dev "$CMP_SRV_IF"
  ip -n "$CMP_CLI_NS" addr add "$CMP_CLI_IP/24" dev "$CMP_CLI_IF"
  # 1000 sessions x 50 packets/s each way: deeper queues than the default
  # 1000 packets, so a scheduling hiccup of the 2 shared cores is not loss
  # on the veth itself.
  ip -n "$CMP_SRV_NS" link set "$CMP_SRV_IF" txqueuelen 10000 up
  ip -n "$CMP_CLI_NS" link set "$CMP_CLI_IF" txqueuelen 10000 up
  # Each session of the load generator is its own UDP socket and each
  # server keeps one or more per session: lift the per-process file limit
  # for what the namespaces run (inherited from this shell).
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}

cmp_cli() { ip netns exec "$CMP_CLI_NS" "$@"; }

cmp_stop() {
  local pid=$CMP_PID
  CMP_PID=""
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cmp_net_down() {
  cmp_stop
  [ -n "$CMP_NET" ] || return 0
  # Whatever still runs in our namespaces was started by this script.
  local ns
  for ns in "$CMP_SRV_NS" "$CMP_CLI_NS"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
  done
  sleep 0.2
  ip netns del "$CMP_SRV_NS" 2>/dev/null || true
  ip netns del "$CMP_CLI_NS" 2>/dev/null || true
  CMP_NET=""
}

# _cmp_wait_http URL: until URL answers 2xx from the client namespace
# (60 s at most); fails at once when CMP_PID has exited.
_cmp_wait_http() {
  for _ in $(seq 600); do
    kill -0 "$CMP_PID" 2>/dev/null || return 1
    cmp_cli curl -sf -o /dev/null --max-time 1 "$1" && return 0
    sleep 0.1
  done
  return 1
}

# _cmp_janus_config DIR: a Janus configuration of its own in DIR — only the
# echotest plugin and the HTTP transport are loadable (DIR/plugins and
# DIR/transports hold links to just those two libraries; no event handlers,
# no loggers), plain HTTP on CMP_SRV_IP:8088 path /janus, no admin API, ICE
# on the veth address only (full ICE, no STUN/TURN, no full-trickle: the
# answer carries the candidates), no session timeout (the load generator
# keeps sessions without keepalives), two event loops (one per core: the
# recommended set-up for many handles, instead of a thread per handle).
_cmp_janus_config() {
  local d=$1 lib=/usr/lib/x86_64-linux-gnu/janus
  [ -d "$lib" ] || lib=$(dirname "$(dpkg -L janus | grep -m1 '/plugins/libjanus_echotest.so$')")/..
  mkdir -p "$d/plugins" "$d/transports" "$d/events" "$d/loggers"
  ln -sf "$lib/plugins/libjanus_echotest.so" "$d/plugins/"
  ln -sf "$lib/transports/libjanus_http.so" "$d/transports/"
  cat >"$d/janus.jcfg" <<EOF
general: {
	configs_folder = "$d"
	plugins_folder = "$d/plugins"
	transports_folder = "$d/transports"
	events_folder = "$d/events"
	loggers_folder = "$d/loggers"
	log_to_stdout = false
	log_to_file = "$d/janus.log"
	debug_level = 3
	session_timeout = 0
	event_loops = 2
	server_name = "voxgate-compare"
	interface = "$CMP_SRV_IP"
}
certificates: {
}
media: {
	rtp_port_range = "20000-60000"
}
nat: {
	nice_debug = false
	ice_lite = false
	ice_tcp = false
	full_trickle = false
	ignore_mdns = true
	ice_enforce_list = "$CMP_SRV_IP"
}
plugins: {
}
transports: {
}
loggers: {
}
events: {
	broadcast = false
}
EOF
  cat >"$d/janus.transport.http.jcfg" <<EOF
general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = 8088
	ip = "$CMP_SRV_IP"
	https = false
	mhd_connection_limit = 4000
}
admin: {
	admin_http = false
	admin_https = false
}
cors: {
}
EOF
  cat >"$d/janus.plugin.echotest.jcfg" <<EOF
general: {
	events = false
}
EOF
}

# shellcheck disable=SC2034 # CMP_URL, CMP_TARGET and CMP_LOG are for the caller
cmp_start() {
  local kind=$1 work=$2
  CMP_LOG=$work/$kind.log
  case "$kind" in
    voxgate)
      # Echo sessions never transcribe: the speech engine is the exec one
      # (started only for a transcribe session, so never here) instead of
      # PocketSphinx, whose decoders would add ~90 MB each to the RSS at
      # start; one recognition thread.
      ip netns exec "$CMP_SRV_NS" "$CMP_BUILD/voxgate" --port 8080 --bind "$CMP_SRV_IP" \
        --log-level warn --max-sessions 4000 --asr exec:/bin/cat --asr-streams 1 --workers 1 \
        >"$CMP_LOG" 2>&1 &
      CMP_PID=$!
      CMP_URL=http://$CMP_SRV_IP:8080 CMP_TARGET=whip
      _cmp_wait_http "$CMP_URL/healthz" ;;
    janus)
      mkdir -p "$work/janus"
      _cmp_janus_config "$work/janus"
      # -F: the configs folder; -C: the main configuration file. Janus stays
      # in the foreground (no -b), so $! is its pid.
      ip netns exec "$CMP_SRV_NS" janus -C "$work/janus/janus.jcfg" -F "$work/janus" \
        >"$CMP_LOG" 2>&1 &
      CMP_PID=$!
      CMP_URL=http://$CMP_SRV_IP:8088/janus CMP_TARGET=janus
      _cmp_wait_http "$CMP_URL/info" ;;
    aiortc)
      ip netns exec "$CMP_SRV_NS" /usr/bin/python3 "$CMP_ROOT/bench/aiortc_echo_server.py" \
        --host-ip "$CMP_SRV_IP" --port 8090 >"$CMP_LOG" 2>&1 &
      CMP_PID=$!
      CMP_URL=http://$CMP_SRV_IP:8090/offer CMP_TARGET=aiortc
      _cmp_wait_http "http://$CMP_SRV_IP:8090/sessions" ;;
    *) echo "cmp_start: unknown server $kind" >&2; return 2 ;;
  esac
}

# shellcheck disable=SC2317 # called by the trap
_cmp_cleanup() {
  [ -z "$CMP_HOLDER_PID" ] || kill "$CMP_HOLDER_PID" 2>/dev/null || true
  cmp_net_down
}

cmp_session() {
  CMP_HOLDER_PID=""
  trap _cmp_cleanup EXIT
  trap 'exit 130' INT TERM
  cmp_net_up
}
