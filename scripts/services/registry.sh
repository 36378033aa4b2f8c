#!/usr/bin/env bash
# OCI registry: Debian's docker-registry (CNCF Distribution v2) on 127.0.0.1:5000, storage under
# var/registry, deletes enabled. Plain HTTP is fine: Docker treats 127.0.0.0/8 as an insecure
# registry without any daemon configuration.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ADDR=127.0.0.1:5000
CONFIG="$RUN_DIR/registry.yml"
LOG="$LOG_DIR/registry.log"
STORAGE="$VAR_DIR/registry"

# /v2/ answers 200 with the header below only on a Distribution registry; anything else on the
# port (a stray moto_server defaults to 5000 too) must not be mistaken for it.
registry_answers() {
  curl -fsS -o /dev/null -D - --max-time 2 "http://$ADDR/v2/" 2>/dev/null |
    grep -qi '^docker-distribution-api-version: registry/2.0'
}

write_config() {
  cat >"$CONFIG" <<YAML
version: 0.1
log:
  level: warn
  formatter: text
storage:
  filesystem:
    rootdirectory: $STORAGE
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $ADDR
  secret: modelbay-local-registry
YAML
}

start_registry() {
  command -v docker-registry >/dev/null || fail "OCI registry: docker-registry is missing; run \`make setup\` (apt package docker-registry)"
  if curl -s -o /dev/null --max-time 2 "http://$ADDR/"; then
    fail "OCI registry: $ADDR is taken by something that is not a registry (check: ss -ltnp | grep 5000)"
  fi
  mkdir -p "$STORAGE"
  write_config
  say "starting docker-registry on $ADDR (log: $LOG)"
  start_detached registry "$LOG" docker-registry serve "$CONFIG"
}

main() {
  registry_answers || start_registry
  wait_until "OCI registry" 20 "$LOG and curl http://$ADDR/v2/" registry_answers
  say "OCI registry ready at $ADDR (storage: $STORAGE)"
}

main "$@"
