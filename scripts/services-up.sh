#!/usr/bin/env bash
# Starts the real services Modelbay's integration and end-to-end tests use, then writes every
# endpoint and credential to var/services.env (KEY=VALUE lines; see docs/services.md).
# Idempotent: a service that already answers is used as is, so a second run takes seconds.
# scripts/services-down.sh stops only what these scripts started.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services/lib.sh

ENV_FILE="$VAR_DIR/services.env"

write_services_env() {
  local tmp="$ENV_FILE.tmp"
  {
    echo "# Written by scripts/services-up.sh at $(date -u +%Y-%m-%dT%H:%M:%SZ); do not edit by hand."
    echo "MODELBAY_DATABASE_URL=postgresql+asyncpg://modelbay:modelbay@127.0.0.1:5432/modelbay"
    echo "MODELBAY_AMQP_URL=amqp://modelbay:modelbay@127.0.0.1:5672/"
    # The name ServiceSettings.bus_url reads (libs/common settings); same broker.
    echo "MODELBAY_BUS_URL=amqp://modelbay:modelbay@127.0.0.1:5672/"
    cat "$RUN_DIR/s3.env"
    echo "MODELBAY_REGISTRY=127.0.0.1:5000"
    # The registry's token key (scripts/services/registry.sh): the builder mints push tokens and
    # the gateway pull tokens with it; tests mint theirs too.
    echo "MODELBAY_REGISTRY_TOKEN_KEY_FILE=$VAR_DIR/registry-auth/registry-token.key"
    echo "MODELBAY_REGISTRY_TOKEN_CERT_FILE=$VAR_DIR/registry-auth/registry-token.crt"
    echo "MODELBAY_BASE_IMAGE=$(<"$VAR_DIR/base-image")"
    echo "DOCKER_HOST=unix:///var/run/docker.sock"
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"
}

main() {
  hold_lock services 900
  local started=$SECONDS
  bash scripts/services/postgres.sh
  bash scripts/services/rabbitmq.sh
  bash scripts/services/docker.sh
  bash scripts/services/registry.sh
  bash scripts/services/s3.sh
  bash scripts/build-base-image.sh
  # The Python 3.13 model base (Debian trixie): the e2e stack registers it beside the 3.11 base
  # (MODELBAY_PYTHON_BASE_IMAGES, tests/e2e/conftest.py). Seconds once cached; cold, a debootstrap.
  bash scripts/build-python-base-image.sh trixie 3.13 >/dev/null
  write_services_env
  say "all services up in $((SECONDS - started))s; endpoints in ${ENV_FILE#"$ROOT"/}"
}

main "$@"
