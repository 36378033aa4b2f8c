#!/usr/bin/env bash
# Builds the image the builder copies GNU `strip` from (docs/builder.md, "Lean images"):
# modelbay/build-tools:strip holds /opt/modelbay-strip — the host's binutils `strip`, every
# library it loads and its own dynamic loader, run through that loader — so the `dependencies`
# stage of ANY x86-64 base (bookworm 3.11, trixie 3.13, an operator's) can strip the venv's
# extension modules without binutils in the base and without network in the build. Nothing of it
# reaches a model image: only the build stage copies it.
#
# Idempotent: the image carries the sha256 of its content as a label and is re-imported only when
# the host's binutils changed. Needs binutils on the host (scripts/bootstrap.sh installs it).
set -euo pipefail
source "$(dirname "$0")/services/lib.sh"

IMAGE="${MODELBAY_STRIP_TOOL_IMAGE:-modelbay/build-tools:strip}"
TOOL_DIR="opt/modelbay-strip"
CONTENT_LABEL="dev.modelbay.content-sha256"

stage_tool() {
  local root=$1 strip loader
  strip="$(command -v strip)" || fail "no strip on this host: install binutils (scripts/bootstrap.sh)"
  strip="$(readlink -f "$strip")"
  loader="$(ldd "$strip" | awk '$1 ~ /ld-linux/ && $2 != "=>" {print $1}')"
  [[ -n $loader ]] || fail "cannot find the dynamic loader of $strip"
  mkdir -p "$root/$TOOL_DIR/bin" "$root/$TOOL_DIR/lib"
  cp -L "$strip" "$root/$TOOL_DIR/bin/strip"
  cp -L "$loader" "$root/$TOOL_DIR/lib/ld.so"
  ldd "$strip" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | while read -r lib; do
    cp -L "$lib" "$root/$TOOL_DIR/lib/"
  done
  # Through its own loader and libraries: the base's glibc (older or newer) plays no part.
  cat >"$root/$TOOL_DIR/strip" <<EOF
#!/bin/sh
exec /$TOOL_DIR/lib/ld.so --library-path /$TOOL_DIR/lib /$TOOL_DIR/bin/strip "\$@"
EOF
  chmod 0755 "$root/$TOOL_DIR/strip" "$root/$TOOL_DIR/bin/strip" "$root/$TOOL_DIR/lib/ld.so"
}

main() {
  hold_lock strip-tool-image 300
  "$DOCKER" info >/dev/null 2>&1 || fail "Docker engine is not answering; run scripts/services/docker.sh first"
  local build="$VAR_DIR/build/strip-tool"
  rm -rf "$build"
  mkdir -p "$build/root"
  stage_tool "$build/root"
  tar --sort=name --mtime=@946684800 --owner=0 --group=0 --numeric-owner \
    -C "$build/root" -cf "$build/rootfs.tar" .
  local content
  content="$(sha256sum "$build/rootfs.tar" | cut -c1-64)"
  if [[ "$("$DOCKER" image inspect --format "{{index .Config.Labels \"$CONTENT_LABEL\"}}" \
    "$IMAGE" 2>/dev/null)" == "$content" ]]; then
    rm -rf "$build"
    return
  fi
  say "docker import $IMAGE ($("$build/root/$TOOL_DIR/bin/strip" --version | head -1))"
  "$DOCKER" import \
    --change "LABEL $CONTENT_LABEL=$content" \
    --change 'LABEL org.opencontainers.image.title=modelbay-strip-tool' \
    --change 'LABEL org.opencontainers.image.description="GNU strip with its own loader and libraries, copied into model build stages"' \
    "$build/rootfs.tar" "$IMAGE" >/dev/null
  rm -rf "$build"
}

main "$@"
