# Shared by the bench scripts, sourced from the repository root: a scratch
# directory ($work, removed on exit) and one server at a time on a free
# loopback port ($pid, $port).
# shellcheck shell=bash

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# memcached refuses to run as root without -u.
root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(-u root)

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2; exit 1
}

# start_server CMD... : run CMD listening on 127.0.0.1:$port and wait until
# it accepts connections.
start_server() {
  port=$(free_port)
  "$@" -l 127.0.0.1 -p "$port" & pid=$!
  wait_port "$port"
}

stop_server() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }
