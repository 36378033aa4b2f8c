#!/usr/bin/env bash
# Stops the services that scripts/services-up.sh started, and only those: a service that was
# already running before (no marker or pid file in var/run/) is left alone. Data is kept
# (Postgres cluster, var/registry, Docker images); moto's S3 content lives in memory and is lost.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services/lib.sh

# stop_pid NAME: SIGTERM the process recorded by start_detached, wait up to 30 s, then SIGKILL.
stop_pid() {
  local name=$1 pid
  if ! pid=$(pid_of "$name"); then
    rm -f "$RUN_DIR/$name.pid"
    return
  fi
  say "stopping $name (pid $pid)"
  kill -TERM "$pid"
  local deadline=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      say "$name did not stop within 30s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    sleep 0.5
  done
  rm -f "$RUN_DIR/$name.pid"
}

stop_marked() {
  local name=$1
  shift
  [[ -f "$RUN_DIR/$name.started" ]] || return 0
  say "stopping $name"
  "$@" || say "stopping $name failed (already stopped?)"
  rm -f "$RUN_DIR/$name.started"
}

# stop_moto: stop the moto this checkout started and forget its keys (moto forgets them when it
# stops). Without a pid file another checkout started moto: its keys in s3.env stay valid, and
# deleting them made the next services-up fail on moto's two-access-keys limit.
stop_moto() {
  [[ -f "$RUN_DIR/moto.pid" ]] || return 0
  stop_pid moto
  rm -f "$RUN_DIR/s3.env"
}

main() {
  hold_lock services 900 # never stop services while a services-up run is starting them
  stop_moto
  stop_pid registry
  stop_pid dockerd
  stop_marked rabbitmq rabbitmqctl -q stop
  stop_marked postgres pg_ctlcluster 15 main stop
  say "services stopped (those started by scripts/services-up.sh)"
}

main "$@"
