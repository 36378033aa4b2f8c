#!/usr/bin/env bash
# OCI registry: Debian's docker-registry (CNCF Distribution v2) on 127.0.0.1:5000, storage under
# var/registry, deletes enabled, behind the platform's auth (`auth: token`, docs/trust.md): every
# request needs a bearer token signed with the key in var/registry-auth/, minted by the gateway
# (the realm, for users) or by the builder (push). Plain HTTP is fine: Docker treats 127.0.0.0/8
# as an insecure registry without any daemon configuration.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

ADDR=127.0.0.1:5000
CONFIG="$RUN_DIR/registry.yml"
LOG="$LOG_DIR/registry.log"
STORAGE="$VAR_DIR/registry"
# The signing key never goes to the database or the blob store: only this directory (0700).
AUTH_DIR="$VAR_DIR/registry-auth"
TOKEN_KEY="$AUTH_DIR/registry-token.key"
TOKEN_CERT="$AUTH_DIR/registry-token.crt"
# The gateway's token endpoint as Docker clients reach it (`docker login 127.0.0.1:5000`).
REALM="${MODELBAY_REGISTRY_TOKEN_REALM:-http://127.0.0.1:8000/v1/registry/token}"
ISSUER="${MODELBAY_REGISTRY_TOKEN_ISSUER:-modelbay}"
SERVICE="${MODELBAY_REGISTRY_TOKEN_SERVICE:-modelbay-registry}"

# /v2/ answers (200 when open, 401 behind token auth) with the header below only on a
# Distribution registry; anything else on the port (a stray moto_server defaults to 5000 too)
# must not be mistaken for it. No `curl -f`: the 401 is the healthy answer here.
registry_answers() {
  curl -sS -o /dev/null -D - --max-time 2 "http://$ADDR/v2/" 2>/dev/null |
    grep -qi '^docker-distribution-api-version: registry/2.0'
}

registry_is_open() {
  [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$ADDR/v2/") == 200 ]]
}

# ECDSA P-256 (ES256) key and a self-signed certificate for the registry's rootcertbundle, made
# once; rotating them is described in docs/trust.md.
ensure_token_key() {
  if [[ -s $TOKEN_KEY && -s $TOKEN_CERT ]]; then
    return
  fi
  mkdir -p "$AUTH_DIR"
  chmod 700 "$AUTH_DIR"
  say "generating the registry token key in ${AUTH_DIR#"$ROOT"/}"
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$TOKEN_KEY.tmp" 2>/dev/null)
  openssl req -new -x509 -key "$TOKEN_KEY.tmp" -out "$TOKEN_CERT.tmp" -days 3650 \
    -subj "/CN=modelbay registry token signer" 2>/dev/null
  mv "$TOKEN_KEY.tmp" "$TOKEN_KEY"
  mv "$TOKEN_CERT.tmp" "$TOKEN_CERT"
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
auth:
  token:
    realm: $REALM
    service: $SERVICE
    issuer: $ISSUER
    rootcertbundle: $TOKEN_CERT
YAML
}

start_registry() {
  command -v docker-registry >/dev/null || fail "OCI registry: docker-registry is missing; run \`make setup\` (apt package docker-registry)"
  if curl -s -o /dev/null --max-time 2 "http://$ADDR/"; then
    fail "OCI registry: $ADDR is taken by something that is not a registry (check: ss -ltnp | grep 5000)"
  fi
  mkdir -p "$STORAGE"
  say "starting docker-registry on $ADDR (log: $LOG)"
  start_detached registry "$LOG" docker-registry serve "$CONFIG"
}

main() {
  ensure_token_key
  # Always rewritten, so a registry started earlier gets token auth at its next restart.
  write_config
  registry_answers || start_registry
  wait_until "OCI registry" 20 "$LOG and curl http://$ADDR/v2/" registry_answers
  if registry_is_open; then
    # Started before token auth (or by hand): usable, but anyone on the machine can read and
    # write it. Not restarted here because other checkouts' runs may be using it.
    say "WARNING: the registry at $ADDR accepts anonymous requests (started before token auth);" \
      "restart it to apply ${CONFIG#"$ROOT"/} (docs/trust.md)"
  fi
  say "OCI registry ready at $ADDR (storage: $STORAGE, token realm: $REALM)"
}

main "$@"
