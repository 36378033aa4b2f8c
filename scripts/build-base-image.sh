#!/usr/bin/env bash
# Makes sure the base image for model images exists locally and records which one was chosen in
# var/base-image (one line, an image reference).
#
# Order: the configured base (MODELBAY_BASE_IMAGE, default python:3.11-slim) if it is present or
# can be pulled; otherwise an equivalent built from Debian bookworm packages by
# scripts/build-python-base-image.sh as modelbay/python:3.11-bookworm (bookworm's python3 is 3.11,
# the interpreter minor version of python:3.11-slim). Idempotent: a recorded pulled image returns
# at once; the fallback is re-checked against its recipe each time (a changed recipe rebuilds it,
# seconds from the cached debootstrap tree). Also builds the strip tool image the builder copies
# into build stages (scripts/build-strip-tool-image.sh).
set -euo pipefail
source "$(dirname "$0")/services/lib.sh"

CONFIGURED="${MODELBAY_BASE_IMAGE:-python:3.11-slim}"
FALLBACK="modelbay/python:3.11-bookworm"
RECORD="$VAR_DIR/base-image"

image_present() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

record() {
  echo "$1" >"$RECORD.tmp" && mv "$RECORD.tmp" "$RECORD"
  say "base image: $1"
}

fallback() {
  bash "$(dirname "$0")/build-python-base-image.sh" bookworm 3.11 >/dev/null
  record "$FALLBACK"
}

main() {
  hold_lock base-image 900
  "$DOCKER" info >/dev/null 2>&1 || fail "Docker engine is not answering; run scripts/services/docker.sh first"
  bash "$(dirname "$0")/build-strip-tool-image.sh"
  if [[ -f $RECORD && $(<"$RECORD") == "$FALLBACK" ]]; then
    fallback
    return
  fi
  if [[ -f $RECORD ]] && image_present "$(<"$RECORD")"; then
    say "base image: $(<"$RECORD") (already present)"
    return
  fi
  if image_present "$CONFIGURED"; then
    record "$CONFIGURED"
    return
  fi
  say "trying to pull $CONFIGURED"
  if timeout 30 "$DOCKER" pull -q "$CONFIGURED" >/dev/null 2>&1; then
    record "$CONFIGURED"
    return
  fi
  say "$CONFIGURED cannot be pulled here; using $FALLBACK built from Debian packages"
  fallback
}

main "$@"
