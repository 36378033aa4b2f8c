#!/usr/bin/env bash
# Orchestrator overhead (issue 10): model servers and one orchestrator as processes on loopback,
# wrk against each; results in bench/solutions/results/latest.json and docs/benchmarks.md
# ("Solutions" section).
#
#   bash bench/solutions/run.sh
#
# Environment (optional): BENCH_DURATION seconds per cell (default 10), BENCH_WARMUP (default 2).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
PYTHONPATH="$HERE" exec "$ROOT/.tools/bin/uv" run --frozen python -m solutionbench \
  "$HERE/results/latest.json" "$ROOT/docs/benchmarks.md"
