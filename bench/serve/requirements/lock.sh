#!/usr/bin/env bash
# Re-pin every peer: compile each *.in into the fully pinned *.txt that run.sh installs.
# Run after changing a version in an *.in file; the next run.sh rebuilds changed venvs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
UV="../../../.tools/bin/uv"
for spec in common mlflow bentoml mlserver fastapi; do
  "$UV" pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    --no-header --annotation-style line "$spec.in" -o "$spec.txt"
  echo "locked $spec.txt"
done
