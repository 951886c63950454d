#!/usr/bin/env bash
# A private RabbitMQ node: the oracle Warren's acceptance tests and benchmarks are checked against.
#
#   scripts/rabbitmq.sh start            # AMQP on 127.0.0.1:${RABBITMQ_PORT:-5673}
#   scripts/rabbitmq.sh stop
#   scripts/rabbitmq.sh ctl list_queues  # any rabbitmqctl command, aimed at this node
#
# Environment: RABBITMQ_PORT (5673), RABBITMQ_DIR (/tmp/warren-rabbitmq: all of the node's state,
# wiped on every start), RABBITMQ_DIST_PORT (AMQP port + 20000), RABBITMQ_START_TIMEOUT (60 s),
# RABBITMQ_MANAGEMENT_PORT (unset: no management plugin; set, say 15674: the management plugin on
# 127.0.0.1 at that port, the oracle for Warren's HTTP API; never 15672, which Warren uses),
# RABBITMQ_PROMETHEUS_PORT (unset: no rabbitmq_prometheus; set, say 15695: the plugin on 127.0.0.1 at
# that port, the oracle for Warren's /metrics; never 15692, which Warren uses).
#
# Why not `rabbitmq-server -detached`: /usr/sbin/rabbitmq-server re-runs itself as the `rabbitmq`
# user, which cannot write state folders created by root (failed_to_create_feature_flags_file_directory),
# and -detached hides that the node died. So we run /usr/lib/rabbitmq/bin/rabbitmq-server as
# ourselves, with HOME (hence the Erlang cookie, shared with rabbitmqctl) inside RABBITMQ_DIR, in
# its own session so it outlives this script, and we wait for the AMQP port to accept connections.
set -euo pipefail

PORT="${RABBITMQ_PORT:-5673}"
DIR="${RABBITMQ_DIR:-/tmp/warren-rabbitmq}"
DIST_PORT="${RABBITMQ_DIST_PORT:-$((PORT + 20000))}"
START_TIMEOUT="${RABBITMQ_START_TIMEOUT:-60}"
# One node name per port, so several of these nodes (tests, benchmarks) can run side by side.
NODE="warren-oracle-${PORT}@localhost"
RMQ_BIN=/usr/lib/rabbitmq/bin
PID_FILE="$DIR/rabbitmq.pid"   # written by the node itself: the beam.smp process
MARKER="$DIR/.warren-rabbitmq" # proves DIR is ours before start wipes it

log() { echo "rabbitmq.sh: $*" >&2; }

# Everything RabbitMQ and rabbitmqctl read, pointed into DIR so nothing of the system install is used.
node_env() {
  export HOME="$DIR"                                  # Erlang cookie: $DIR/.erlang.cookie
  export RABBITMQ_CONF_ENV_FILE="$DIR/rabbitmq-env.conf" # instead of /etc/rabbitmq/rabbitmq-env.conf
  export RABBITMQ_NODENAME="$NODE"
  export RABBITMQ_CONFIG_FILE="$DIR/rabbitmq.conf"
  export RABBITMQ_ADVANCED_CONFIG_FILE="$DIR/advanced.config"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$DIR/mnesia"
  export RABBITMQ_LOG_BASE="$DIR/log"
  export RABBITMQ_PID_FILE="$PID_FILE"
  export RABBITMQ_DIST_PORT="$DIST_PORT"
  # Keep Erlang distribution (which can run code on the node) off the network too.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

ctl() { node_env; timeout "${CTL_TIMEOUT:-60}" "$RMQ_BIN/rabbitmqctl" -n "$NODE" "$@"; }

# Running, not a zombie (kill -0 succeeds on zombies, and nobody here may reap them).
alive() { local state; state="$(ps -o stat= -p "$1" 2>/dev/null)" && [[ "$state" != Z* ]]; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# Whether pid is our node: checked against the process's environment so a recycled pid (or anybody
# else's RabbitMQ) is never mistaken for ours. A zombie has an empty environment, so it is not alive.
is_our_node() {
  local environ
  environ="$({ tr '\0' '\n' <"/proc/$1/environ"; } 2>/dev/null)" || return 1
  grep -qxF "RABBITMQ_NODENAME=$NODE" <<<"$environ" && grep -qxF "HOME=$DIR" <<<"$environ"
}

# The pid of our node if it is running. (RabbitMQ deletes its pid file as it shuts down.)
node_pid() {
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && is_our_node "$pid" || return 1
  echo "$pid"
}

ensure_installed() {
  [[ -x "$RMQ_BIN/rabbitmq-server" ]] && return
  local sudo=()
  [[ "$(id -u)" -ne 0 ]] && sudo=(sudo)
  log "installing rabbitmq-server with apt-get"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server
}

start() {
  ensure_installed
  if node_pid >/dev/null; then
    port_open || { log "node $NODE is running but port $PORT is closed; try stop first"; exit 1; }
    log "already running: $NODE on amqp://guest:guest@127.0.0.1:$PORT/"
    return
  fi
  if port_open; then log "port $PORT is already taken by another process"; exit 1; fi

  # A fresh node every time: no queues or messages left over from earlier runs.
  if [[ -e "$DIR" && ! -e "$MARKER" && -n "$(ls -A "$DIR")" ]]; then
    log "$DIR exists and was not created by this script; refusing to wipe it"; exit 1
  fi
  rm -rf "$DIR"
  mkdir -p "$DIR/log" "$DIR/mnesia"
  touch "$MARKER" "$DIR/rabbitmq-env.conf"
  echo '[].' >"$DIR/enabled_plugins" # no management plugin unless asked for: it would grab port 15672
  cat >"$DIR/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$PORT
EOF
  if [[ -n "${RABBITMQ_MANAGEMENT_PORT:-}" ]]; then
    echo '[rabbitmq_management].' >"$DIR/enabled_plugins"
    printf 'management.tcp.port = %s\nmanagement.tcp.ip = 127.0.0.1\n' "$RABBITMQ_MANAGEMENT_PORT" >>"$DIR/rabbitmq.conf"
  fi
  if [[ -n "${RABBITMQ_PROMETHEUS_PORT:-}" ]]; then
    # rabbitmq_prometheus alone also starts the management agent, not the HTTP API on 15672.
    if [[ -n "${RABBITMQ_MANAGEMENT_PORT:-}" ]]; then plugins='rabbitmq_management,rabbitmq_prometheus'; else plugins='rabbitmq_prometheus'; fi
    echo "[$plugins]." >"$DIR/enabled_plugins"
    printf 'prometheus.tcp.port = %s\nprometheus.tcp.ip = 127.0.0.1\n' "$RABBITMQ_PROMETHEUS_PORT" >>"$DIR/rabbitmq.conf"
  fi

  node_env
  # setsid: own session, so the node survives this script and the caller's process group.
  (cd "$DIR" && exec setsid "$RMQ_BIN/rabbitmq-server" >"$DIR/log/stdout.log" 2>&1 </dev/null) &
  local launcher=$!

  local deadline=$((SECONDS + START_TIMEOUT))
  until port_open; do
    if ! alive "$launcher" && ! node_pid >/dev/null; then
      log "RabbitMQ exited during startup; last lines of $DIR/log/stdout.log:"
      tail -n 30 "$DIR/log/stdout.log" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      log "port $PORT not open after ${START_TIMEOUT}s; stopping the node"
      tail -n 30 "$DIR/log/stdout.log" >&2
      stop || true
      exit 1
    fi
    sleep 0.2 # polling is the only readiness signal a TCP port gives
  done
  log "started $NODE (pid $(node_pid || echo '?')): amqp://guest:guest@127.0.0.1:$PORT/ (logs in $DIR/log)"
}

stop() {
  local pid
  if ! pid="$(node_pid)"; then
    log "$NODE is not running"
    return
  fi
  # Graceful: rabbitmqctl stop with the pid file waits until that process has exited. If it cannot
  # reach the node (say, a changed cookie, where it hangs), SIGTERM is also a graceful stop.
  if ! CTL_TIMEOUT=20 ctl stop "$PID_FILE" >&2; then
    log "rabbitmqctl stop failed; sending SIGTERM to pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
  fi
  local deadline=$((SECONDS + 20))
  while is_our_node "$pid"; do
    if ((SECONDS >= deadline)); then
      log "pid $pid still alive; SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      break
    fi
    sleep 0.2 # no exit event to wait on for a process that is not our child
  done
  log "stopped $NODE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  ctl) shift; ctl "$@" ;;
  *) echo "usage: $0 start|stop|ctl <rabbitmqctl args>" >&2; exit 2 ;;
esac
