#!/usr/bin/env bash
# Runs Compose with what these machines need, passing every argument through:
#
#   bash scripts/compose/compose.sh -p NAME -f deploy/docker-compose.yml \
#     -f deploy/docker-compose.local.yml up --build -d
#
# - The Compose v2 plugin (`docker compose`) when it answers, else Debian's `docker-compose` 1.29
#   (the only implementation Debian bookworm ships; `make setup` installs it).
# - Builds through BuildKit, which reads deploy/Dockerfile.service.dockerignore (the context is
#   the host's wheelhouse, not the checkout). Compose 1.29 builds with BuildKit only through the
#   docker CLI (COMPOSE_DOCKER_CLI_BUILD=1), and only the engine's own client (/usr/bin/docker,
#   from docker.io) has BuildKit built in; a newer CLI earlier on PATH wants the buildx plugin.
set -euo pipefail
cd "$(dirname "$0")/../.."

export DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1
if [[ -x /usr/bin/docker ]]; then
  export PATH="/usr/bin:$PATH"
fi
if docker compose version >/dev/null 2>&1; then
  exec docker compose "$@"
fi
command -v docker-compose >/dev/null || {
  echo "neither \`docker compose\` nor docker-compose is installed; run \`make setup\`" >&2
  exit 1
}
exec docker-compose "$@"
