#!/usr/bin/env bash
# Image layers per model, cold start, and a cold build with a system-package layer (issue 13):
# bench/pipeline/pipelinebench/layers.py. Needs `make services-up` (Docker, base image).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
cd "$ROOT"
exec "$ROOT/.venv/bin/python" -m pipelinebench.layers "$@"
