#!/usr/bin/env bash
# Makes sure the base image for model images exists locally and records which one was chosen in
# var/base-image (one line, an image reference).
#
# Order: the configured base (MODELBAY_BASE_IMAGE, default python:3.11-slim) if it is present or
# can be pulled; otherwise an equivalent built from Debian bookworm packages with debootstrap and
# `docker import`ed as modelbay/python:3.11-bookworm. Bookworm's python3 is 3.11, so model images
# get the same interpreter minor version as python:3.11-slim. Idempotent: when the recorded image
# exists the script returns at once; the .deb cache and the rootfs tarball are kept under var/cache
# so a rebuild after `docker image rm` takes seconds.
set -euo pipefail
source "$(dirname "$0")/services/lib.sh"

CONFIGURED="${MODELBAY_BASE_IMAGE:-python:3.11-slim}"
FALLBACK="modelbay/python:3.11-bookworm"
RECORD="$VAR_DIR/base-image"
MIRROR="${MODELBAY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# python-is-python3 gives `python` like python:3.11-slim; python3-venv brings ensurepip, so a venv
# inside the image has pip (the system python is PEP 668 managed: install into a venv).
PACKAGES="python3,python3-venv,python-is-python3,ca-certificates"
CACHE_DIR="$VAR_DIR/cache/debootstrap"
# The tarball name carries the package list, so changing it forces a fresh debootstrap.
# Bumped when the slimming in build_rootfs_tar changes (2: no /usr/share/locale, 33 MB of
# program translations a model server never prints), so an older cached tarball is not reused.
SLIM_REVISION=2
ROOTFS_TAR="$VAR_DIR/cache/base-rootfs-bookworm-$(echo "$PACKAGES $SLIM_REVISION" | md5sum | cut -c1-8).tar"

image_present() { "$DOCKER" image inspect "$1" >/dev/null 2>&1; }

record() {
  echo "$1" >"$RECORD.tmp" && mv "$RECORD.tmp" "$RECORD"
  say "base image: $1"
}

build_rootfs_tar() {
  local dir="$VAR_DIR/build/base-rootfs"
  rm -rf "$dir"
  mkdir -p "$dir" "$CACHE_DIR"
  say "debootstrap bookworm from $MIRROR (log: $LOG_DIR/debootstrap.log)"
  if ! debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE_DIR" \
    bookworm "$dir" "$MIRROR" >"$LOG_DIR/debootstrap.log" 2>&1; then
    fail "debootstrap failed; see $LOG_DIR/debootstrap.log (is $MIRROR reachable?)"
  fi
  # Slim it like the official image: no apt lists or downloaded .debs, no docs or man pages.
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
    "$dir"/usr/share/locale/*
  tar --numeric-owner -C "$dir" -cf "$ROOTFS_TAR.tmp" .
  mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$dir"
}

import_fallback() {
  [[ -f $ROOTFS_TAR ]] || build_rootfs_tar
  say "docker import $FALLBACK"
  "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'LABEL org.opencontainers.image.title=modelbay-python-base' \
    --change 'LABEL org.opencontainers.image.description="Debian bookworm minbase with python3 (3.11) and venv, stands in for python:3.11-slim"' \
    --change 'CMD ["python3"]' \
    "$ROOTFS_TAR" "$FALLBACK" >/dev/null
}

main() {
  hold_lock base-image 900
  "$DOCKER" info >/dev/null 2>&1 || fail "Docker engine is not answering; run scripts/services/docker.sh first"
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
  image_present "$FALLBACK" || import_fallback
  record "$FALLBACK"
}

main "$@"
