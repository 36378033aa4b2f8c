#!/usr/bin/env bash
# Installs what Modelbay needs on a fresh Debian 12 machine (run as root), then the Python
# workspace. Idempotent: a second run checks and returns in a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(python3 python3-venv make git curl ca-certificates procps
  postgresql rabbitmq-server docker.io docker-registry docker-compose debootstrap wrk
  chromium  # chromium: the web UI's browser tests (Playwright drives /usr/bin/chromium)
  buildah skopeo  # the builder's daemonless backend: buildah builds, skopeo pushes with a token
  binutils  # strip: scripts/build-strip-tool-image.sh packs it for model build stages (docs/builder.md)
  prometheus  # promtool: deploy/monitoring's alert rules are checked and unit-tested (docs/operations.md)
  protobuf-compiler libprotobuf-java libgoogle-gson-java libguava-java)  # generated clients: protoc, Java runtime + JsonFormat (docs/clients.md)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "==> apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# uv lives in a private tools venv so the system Python (PEP 668 managed) stays untouched.
if [[ ! -x .tools/bin/uv ]]; then
  echo "==> installing uv into .tools/"
  python3 -m venv .tools
  .tools/bin/pip install -q --disable-pip-version-check 'uv>=0.5'
fi

# --frozen: the committed uv.lock is the truth; a drifted lock fails here, not later.
.tools/bin/uv sync --frozen --all-packages --quiet
