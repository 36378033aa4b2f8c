#!/usr/bin/env bash
# Builds a model base image for another Python from Debian packages, like build-base-image.sh
# does for bookworm's 3.11, and prints its reference. Register it afterwards in
# MODELBAY_PYTHON_BASE_IMAGES (docs/builder.md, "Python versions, base images").
#
#   scripts/build-python-base-image.sh trixie 3.13    # → modelbay/python:3.13-trixie
#
# Idempotent: returns at once when the image exists; the .deb cache and the rootfs tarball are
# kept under var/cache so a rebuild after `docker image rm` takes seconds. Needs debootstrap and a
# reachable Debian mirror (MODELBAY_DEBIAN_MIRROR).
set -euo pipefail
source "$(dirname "$0")/services/lib.sh"

SUITE="${1:?usage: $0 DEBIAN_SUITE PYTHON_MAJOR_MINOR (e.g. trixie 3.13)}"
PYTHON="${2:?usage: $0 DEBIAN_SUITE PYTHON_MAJOR_MINOR (e.g. trixie 3.13)}"
IMAGE="modelbay/python:$PYTHON-$SUITE"
MIRROR="${MODELBAY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
PACKAGES="python3,python3-venv,python-is-python3,ca-certificates"
CACHE_DIR="$VAR_DIR/cache/debootstrap-$SUITE"
# Bumped when the slimming in build_rootfs_tar changes (2: no /usr/share/locale, 33 MB of
# program translations a model server never prints), so an older cached tarball is not reused.
SLIM_REVISION=2
ROOTFS_TAR="$VAR_DIR/cache/base-rootfs-$SUITE-$(echo "$PACKAGES $SLIM_REVISION" | md5sum | cut -c1-8).tar"

build_rootfs_tar() {
  local dir="$VAR_DIR/build/base-rootfs-$SUITE"
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
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
    "$dir"/usr/share/locale/*
  tar --numeric-owner -C "$dir" -cf "$ROOTFS_TAR.tmp" .
  mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$dir"
}

main() {
  hold_lock "base-image-$SUITE" 1800
  "$DOCKER" info >/dev/null 2>&1 || fail "Docker engine is not answering; run scripts/services/docker.sh first"
  if ! "$DOCKER" image inspect "$IMAGE" >/dev/null 2>&1; then
    [[ -f $ROOTFS_TAR ]] || build_rootfs_tar
    say "docker import $IMAGE"
    "$DOCKER" import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'LABEL org.opencontainers.image.title=modelbay-python-base' \
      --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase with python3 ($PYTHON) and venv\"" \
      --change 'CMD ["python3"]' \
      "$ROOTFS_TAR" "$IMAGE" >/dev/null
  fi
  echo "$IMAGE"
}

main "$@"
