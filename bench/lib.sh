# Shared by the bench scripts (source it): a network namespace with only
# `lo`, and a server started in it and stopped by pid.
#   vg_ns_up NS                      create NS and bring lo up
#   vg_server_start NS PORT LOG CMD...  run CMD in NS (output to LOG), set
#                                    SERVER_PID and wait until PORT/tcp
#                                    accepts (60 s at most); returns 1 and
#                                    prints LOG when the server exits first
#   vg_server_stop                   stop SERVER_PID (if running)
#   vg_ns_down NS                    vg_server_stop, then delete NS
#   vg_smoke_begin NAME PREFIX       for the ctest smoke scripts: exit 77
#                                    (ctest: skipped) unless root with
#                                    iproute2; else set NS (PREFIX-$$, made
#                                    with vg_ns_up), SMOKE_DIR (a temp
#                                    directory) and LOG (its server.log),
#                                    all removed on exit
SERVER_PID=""

vg_ns_up() {
  ip netns add "$1"
  ip -n "$1" link set lo up
}

vg_server_start() {
  local ns=$1 port=$2 log=$3
  shift 3
  # `ip netns exec` execs the command, so $! is the server's own pid.
  ip netns exec "$ns" "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 600); do
    ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$log"; return 1; }
    sleep 0.1
  done
  cat "$log"
  return 1
}

vg_server_stop() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}

vg_ns_down() {
  vg_server_stop
  ip netns del "$1" 2>/dev/null || true
}

vg_smoke_begin() {
  [ "$(id -u)" = 0 ] || { echo "$1: skipped (needs root for ip netns)"; exit 77; }
  command -v ip >/dev/null || { echo "$1: skipped (no iproute2)"; exit 77; }
  NS=$2-$$
  SMOKE_DIR=$(mktemp -d "/tmp/vg-${1//_/-}.XXXXXX")
  LOG=$SMOKE_DIR/server.log
  trap 'vg_ns_down "$NS"; rm -rf "$SMOKE_DIR"' EXIT
  vg_ns_up "$NS"
}
