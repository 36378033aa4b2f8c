#!/usr/bin/env bash
# `make compose-up`: the docker-compose stack with the local stand-ins, on a machine that cannot
# pull images (docs/deploy.md). Prepares what the images need on the host (wheelhouse, package
# mirror and its certificate), writes var/compose/compose.env once (a random admin token, ports
# that avoid the natively started services), then `up --build -d` and waits for the gateway.
# `make compose-down` stops it and deletes its volumes. Re-running is safe.
set -euo pipefail
cd "$(dirname "$0")/../.."
ENV_FILE=var/compose/compose.env
PROJECT=${MODELBAY_COMPOSE_PROJECT:-modelbay-local}

[[ -s var/base-image ]] || bash scripts/build-base-image.sh
bash scripts/compose/wheelhouse.sh --from-git HEAD
.venv/bin/python scripts/compose/pypi_mirror.py "$@"
if [[ ! -f $ENV_FILE ]]; then
  umask 077
  cat >"$ENV_FILE" <<ENV
MODELBAY_ADMIN_TOKEN=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')
MODELBAY_INTERNAL_SECRET=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')
MODELBAY_BASE_IMAGE=$(<var/base-image)
POSTGRES_PORT=25432
RABBITMQ_PORT=35672
RABBITMQ_MANAGEMENT_PORT=35673
MINIO_PORT=29000
MINIO_CONSOLE_PORT=29001
REGISTRY_PORT=25000
GATEWAY_PORT=28000
ENV
fi
# The stand-ins and the service image apt-get/useradd in their builds: the base's `-apt` sibling
# when it has one (scripts/build-python-base-image.sh), else the base itself (python:3.11-slim).
base_image=$(<var/base-image)
MODELBAY_APT_BASE_IMAGE=$base_image
if docker image inspect "$base_image-apt" >/dev/null 2>&1; then
  MODELBAY_APT_BASE_IMAGE=$base_image-apt
fi
export MODELBAY_APT_BASE_IMAGE
# Env files written before internal calls were signed (docs/trust.md) get their secret now.
if ! grep -q '^MODELBAY_INTERNAL_SECRET=' "$ENV_FILE"; then
  echo "MODELBAY_INTERNAL_SECRET=$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))')" >>"$ENV_FILE"
fi
bash scripts/compose/compose.sh --env-file "$ENV_FILE" -p "$PROJECT" \
  -f deploy/docker-compose.yml -f deploy/docker-compose.local.yml up --build -d
port=$(sed -n 's/^GATEWAY_PORT=//p' "$ENV_FILE")
for _ in $(seq 1 150); do
  if curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then
    echo "==> gateway ready at http://127.0.0.1:$port (admin token: MODELBAY_ADMIN_TOKEN in $ENV_FILE)"
    exit 0
  fi
  sleep 2
done
echo "the gateway did not answer http://127.0.0.1:$port/readyz; see \`docker-compose -p $PROJECT logs\`" >&2
exit 1
