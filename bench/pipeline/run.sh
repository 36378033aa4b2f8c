#!/usr/bin/env bash
# The pipeline benchmark in one command (issue 4, "Numbers to report"): push → ready of the
# paper's Fig. 2 iris model, cold and warm, in embedded and stack mode, and the image size
# against base + wheels + bundle. Writes bench/pipeline/results/latest.json and the
# `## Pipeline` section of docs/benchmarks.md.
#
#   bash bench/pipeline/run.sh                      # ~10-20 min on 2 cores
#   bash bench/pipeline/run.sh --modes embedded --cold-runs 1 --warm-runs 2 --no-docs
#
# Needs `make services-up` (Postgres, RabbitMQ, S3, registry, Docker, base image) and network
# access to PyPI (cold runs download every wheel). Everything it starts is stopped at the end.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="$ROOT/.venv/bin/python"
[[ -x $PY ]] || { echo "the workspace is not installed: run \`make setup\`" >&2; exit 1; }
[[ -f $ROOT/var/services.env ]] || { echo "run \`make services-up\` first" >&2; exit 1; }

# pipelinebench reuses the end-to-end tier's stack harness (tests/e2e/e2e_stack.py).
export PYTHONPATH="$HERE:$ROOT/tests/e2e${PYTHONPATH:+:$PYTHONPATH}"
export MODELBAY_LOG_JSON=false
cd "$ROOT"
exec "$PY" -m pipelinebench "$@"
