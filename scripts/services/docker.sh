#!/usr/bin/env bash
# Docker engine (Debian docker.io). If `docker info` already answers, that engine is used and left
# alone; otherwise dockerd is started in the background (no systemd here), logging to
# var/log/dockerd.log, and services-down.sh stops it again. On these machines overlay2 on ext4,
# the docker0 bridge, iptables NAT and `-p 127.0.0.1:HOST:CONTAINER` all work with the defaults.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SOCKET=/var/run/docker.sock
LOG="$LOG_DIR/dockerd.log"

engine_answers() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }

start_engine() {
  [[ -x /usr/sbin/dockerd ]] || fail "Docker engine: /usr/sbin/dockerd is missing; run \`make setup\` (apt package docker.io)"
  say "starting dockerd (log: $LOG)"
  start_detached dockerd "$LOG" /usr/sbin/dockerd --host "unix://$SOCKET"
}

main() {
  engine_answers || start_engine
  wait_until "Docker engine" 60 "$LOG and \`$DOCKER info\`" engine_answers
  say "Docker engine ready at unix://$SOCKET (storage driver: $("$DOCKER" info --format '{{.Driver}}'))"
}

main "$@"
