#!/usr/bin/env bash
# Builds a model base image for a Debian suite's Python from Debian packages and prints its
# reference: debootstrap minbase with python3 and its venv module, slimmed, `docker import`ed.
# scripts/build-base-image.sh uses it for bookworm's 3.11; register others in
# MODELBAY_PYTHON_BASE_IMAGES (docs/builder.md, "Python versions, base images").
#
#   scripts/build-python-base-image.sh trixie 3.13      # → modelbay/python:3.13-trixie
#   scripts/build-python-base-image.sh bookworm 3.11    # → modelbay/python:3.11-bookworm
#
# Idempotent: returns at once when the image exists and was built by this recipe. The recipe is
# this file: its sha256 is the image's `dev.modelbay.base-recipe` label, so a changed package
# list or slimming step rebuilds the image under the same tag on the next `make services-up`
# (otherwise a machine would keep its old base forever). The unslimmed debootstrap tree is cached
# as a tarball under var/cache (named by the package list), so a rebuild after a slimming change
# or `docker image rm` takes seconds. Needs debootstrap and a reachable Debian mirror
# (MODELBAY_DEBIAN_MIRROR) the first time.
set -euo pipefail
source "$(dirname "$0")/services/lib.sh"

SUITE="${1:?usage: $0 DEBIAN_SUITE PYTHON_MAJOR_MINOR (e.g. trixie 3.13)}"
PYTHON="${2:?usage: $0 DEBIAN_SUITE PYTHON_MAJOR_MINOR (e.g. trixie 3.13)}"
IMAGE="modelbay/python:$PYTHON-$SUITE"
MIRROR="${MODELBAY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# python-is-python3 gives `python` like python:3.11-slim; python3-venv brings ensurepip, so a venv
# inside the image has pip (the system python is PEP 668 managed: install into a venv).
PACKAGES="python3,python3-venv,python-is-python3,ca-certificates"
CACHE_DIR="$VAR_DIR/cache/debootstrap-$SUITE"
[[ $SUITE == bookworm ]] && CACHE_DIR="$VAR_DIR/cache/debootstrap"  # the .debs cached before
RAW_TAR="$VAR_DIR/cache/debootstrap-$SUITE-$(echo "$PACKAGES" | md5sum | cut -c1-8).tar"
RECIPE_LABEL="dev.modelbay.base-recipe"
RECIPE="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"

debootstrap_tar() {
  local dir="$VAR_DIR/build/debootstrap-$SUITE"
  rm -rf "$dir"
  mkdir -p "$dir" "$CACHE_DIR"
  say "debootstrap $SUITE from $MIRROR (log: $LOG_DIR/debootstrap-$SUITE.log)"
  if ! debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE_DIR" \
    "$SUITE" "$dir" "$MIRROR" >"$LOG_DIR/debootstrap-$SUITE.log" 2>&1; then
    fail "debootstrap failed; see $LOG_DIR/debootstrap-$SUITE.log (is $MIRROR reachable?)"
  fi
  local found
  found="$(chroot "$dir" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  [[ $found == "$PYTHON" ]] || fail "$SUITE's python3 is $found, not $PYTHON"
  tar --numeric-owner -C "$dir" -cf "$RAW_TAR.tmp" .
  mv "$RAW_TAR.tmp" "$RAW_TAR"
  rm -rf "$dir"
}

# What a model server never reads, measured in docs/benchmarks.md ("Image layers", session 4).
# dpkg keeps its database (the system-packages stage installs .debs with it), Python keeps
# ensurepip and its wheels (the build stages create venvs) and every stdlib bytecode file.
slim() {
  local dir=$1
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
    "$dir"/usr/share/locale/* "$dir"/usr/share/zoneinfo/right \
    "$dir"/var/cache/debconf/*-old "$dir"/var/lib/dpkg/*-old "$dir"/var/log/*
  # 2to3, pydoc's help topics, CPython's own test package, IDLE/Tk when present.
  local part
  for part in lib2to3 pydoc_data test idlelib tkinter turtledemo; do
    rm -rf "$dir"/usr/lib/python3.*/"$part"
  done
  # glibc's iconv converters for East Asian and legacy code pages (8 MB); Python's codecs do not
  # use them. Unicode and the Western Latin ones stay; iconv_open of a removed one fails cleanly.
  find "$dir"/usr/lib/x86_64-linux-gnu/gconv -name '*.so' ! -name 'UTF-*' ! -name 'UNICODE.so' \
    ! -name 'ISO8859-1.so' ! -name 'ISO8859-15.so' ! -name 'CP1252.so' -delete
}

import_image() {
  [[ -f $RAW_TAR ]] || debootstrap_tar
  local dir="$VAR_DIR/build/base-rootfs-$SUITE"
  rm -rf "$dir"
  mkdir -p "$dir"
  tar --numeric-owner -C "$dir" -xf "$RAW_TAR"
  slim "$dir"
  say "docker import $IMAGE (recipe $RECIPE)"
  tar --numeric-owner -C "$dir" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL $RECIPE_LABEL=$RECIPE" \
    --change 'LABEL org.opencontainers.image.title=modelbay-python-base' \
    --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase with python3 ($PYTHON) and venv\"" \
    --change 'CMD ["python3"]' \
    - "$IMAGE" >/dev/null
  rm -rf "$dir"
}

main() {
  hold_lock "base-image-$SUITE" 1800
  "$DOCKER" info >/dev/null 2>&1 || fail "Docker engine is not answering; run scripts/services/docker.sh first"
  local built
  built="$("$DOCKER" image inspect --format "{{index .Config.Labels \"$RECIPE_LABEL\"}}" \
    "$IMAGE" 2>/dev/null || true)"
  [[ $built == "$RECIPE" ]] || import_image
  echo "$IMAGE"
}

main "$@"
