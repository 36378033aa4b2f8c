#!/usr/bin/env bash
# Build the example image and save it as a tarball for `modelbay push --image`:
#   bash examples/prebuilt-node/build.sh [OUT.tar]
#   modelbay push --image thermo-node.tar --proto examples/prebuilt-node/model.proto --name thermo
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TAG="${TAG:-modelbay-examples/thermo-node:1}"
OUT="${1:-$PWD/thermo-node.tar}"
docker build --quiet --build-arg "BASE=${BASE:-modelbay/python:3.11-bookworm-apt}" -t "$TAG" "$HERE" >/dev/null
docker save "$TAG" -o "$OUT"
echo "$OUT"
