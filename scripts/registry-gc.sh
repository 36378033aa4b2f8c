#!/usr/bin/env bash
# The registry's own garbage collection, the second half of `modelbay admin gc`
# (docs/operations.md, "Artifact garbage collection"): after the builder deleted the manifests of
# dead versions, `docker-registry garbage-collect` frees the layers nothing references any more.
#
# Distribution's collector takes no lock against pushes: it must run while the registry is
# STOPPED. This script refuses while a Distribution registry answers on ADDRESS, and never stops
# or starts one itself (a registry in read-only maintenance mode is the operator's call: run
# `docker-registry garbage-collect` by hand then).
#
# usage: scripts/registry-gc.sh CONFIG ADDRESS [--dry-run]
#   e.g. scripts/registry-gc.sh var/run/registry.yml 127.0.0.1:5000 --dry-run
set -euo pipefail

usage="usage: registry-gc.sh CONFIG ADDRESS [--dry-run]"
config="${1:?$usage}"
address="${2:?$usage}"
shift 2
flags=(--delete-untagged)
for arg in "$@"; do
  case "$arg" in
    --dry-run) flags+=(--dry-run) ;;
    *) echo "registry-gc.sh: unknown option $arg ($usage)" >&2; exit 2 ;;
  esac
done
[ -f "$config" ] || { echo "registry-gc.sh: no registry config at $config" >&2; exit 2; }

# /v2/ carries this header only on a Distribution registry (any status: 401 behind token auth).
if curl -sS -o /dev/null -D - --max-time 2 "http://$address/v2/" 2>/dev/null |
  grep -qi '^docker-distribution-api-version: registry/2.0'; then
  echo "registry-gc.sh: the registry on $address is running; stop it first: a push during" \
    "the collection can lose layers" >&2
  exit 1
fi
exec docker-registry garbage-collect "${flags[@]}" "$config"
