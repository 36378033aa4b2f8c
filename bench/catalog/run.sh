#!/usr/bin/env bash
# The catalog benchmark (`make bench-catalog`): seed 100,000 models, 1,000,000 downloads and
# 1,000,000 ratings into a database of its own, start the catalog and the gateway, measure
# search and model pages at 8 concurrent clients with wrk, record the query plans, and write
# the "Catalog search" section of docs/benchmarks.md. Options: python -m catalogbench --help.
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 1; }
export PYTHONPATH="bench/catalog${PYTHONPATH:+:$PYTHONPATH}"
exec .tools/bin/uv run --frozen python -m catalogbench "$@"
