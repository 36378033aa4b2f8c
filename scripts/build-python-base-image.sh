#!/usr/bin/env bash
# Builds a model base image for a Debian suite's Python from Debian packages and prints its
# reference: debootstrap minbase with python3 and its venv module, slimmed, `docker import`ed.
# scripts/build-base-image.sh uses it for bookworm's 3.11; register others in
# MODELBAY_PYTHON_BASE_IMAGES (docs/builder.md, "Python versions, base images").
#
#   scripts/build-python-base-image.sh trixie 3.13      # → modelbay/python:3.13-trixie
#   scripts/build-python-base-image.sh bookworm 3.11    # → modelbay/python:3.11-bookworm
#
# and beside each its `-apt` sibling (same tree with apt, for images that apt-get in their build).
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
# The same tree before the purge below (apt, passwd, ... kept, apt's lists empty): for images
# that install Debian packages with apt in their own build — the compose stand-ins
# (deploy/local/*), the service image's `useradd`, examples/prebuilt-node. Model images never
# use it (their system packages come as .debs: docs/system-packages.md).
APT_IMAGE="$IMAGE-apt"
MIRROR="${MODELBAY_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# python-is-python3 gives `python` like python:3.11-slim; python3-venv brings ensurepip, so a venv
# inside the image has pip (the system python is PEP 668 managed: install into a venv).
PACKAGES="python3,python3-venv,python-is-python3,ca-certificates"
# What the image keeps besides Debian's Essential packages and PACKAGES (with the dependencies of
# all of them): tzdata for Python's zoneinfo, libstdc++6 because manylinux wheels link it without
# vendoring it, liblz4-1 because the resolver counts liblz4.so.1 as in every base
# (BASE_IMAGE_SONAMES; trixie's Essential set no longer pulls it in). Every other package debootstrap installed (apt and its TLS/keyring stack,
# e2fsprogs, mount, passwd, adduser, ...) is purged with dpkg, so its database stays true. The
# resolver assumes exactly this set is in a base (MODELBAY_ONBOARDING_DEBIAN_BASE_PACKAGES =
# PACKAGES + KEEP, closed over Essential): keep the two lists equal.
KEEP="tzdata libstdc++6 liblz4-1"
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

# Packages outside the closure of Essential + PACKAGES + KEEP over what is installed (the first
# installed alternative of each dependency), printed one a line. Runs the image's own python3.
unneeded_packages() {
  chroot "$1" python3 - "$PACKAGES,${KEEP// /,}" <<'PY'
import re, sys

installed, provided, depends, roots = set(), {}, {}, set(sys.argv[1].split(","))
with open("/var/lib/dpkg/status", encoding="utf-8") as status:
    for stanza in status.read().split("\n\n"):
        fields = dict(re.findall(r"^([\w-]+): (.*)$", stanza, re.M))
        name = fields.get("Package")
        if not name or not fields.get("Status", "").endswith(" installed"):
            continue
        installed.add(name)
        if fields.get("Essential") == "yes":
            roots.add(name)
        clauses = ", ".join(filter(None, (fields.get("Pre-Depends"), fields.get("Depends"))))
        depends[name] = [
            [re.split(r"[ (:]", alternative.strip())[0] for alternative in clause.split("|")]
            for clause in clauses.split(",") if clause.strip()
        ]
        for virtual in fields.get("Provides", "").split(","):
            if virtual.strip():
                provided.setdefault(re.split(r"[ (]", virtual.strip())[0], []).append(name)

def real(name):
    return name if name in installed else next(iter(provided.get(name, [])), None)

kept, todo = set(), [name for name in roots if real(name)]
while todo:
    name = real(todo.pop())
    if name in kept:
        continue
    kept.add(name)
    for clause in depends[name]:
        todo.extend(next(([a] for a in clause if real(a)), []))
print("\n".join(sorted(installed - kept)))
PY
}

# What a model server never reads, measured in docs/benchmarks.md ("Image layers", session 4
# and 5): the packages outside Essential + PACKAGES + KEEP (purge_unneeded, after the `-apt`
# sibling is imported), and in both images what follows (slim). dpkg keeps its database (the system-packages stage installs .debs with it), perl-base
# stays (Essential: maintainer scripts may use it), Python keeps ensurepip and its wheels (the
# build stages create venvs) and every stdlib bytecode file.
purge_unneeded() {
  local dir=$1 unneeded
  unneeded="$(unneeded_packages "$dir")"
  # apt is Protected; nothing kept depends on what goes (the closure above), so no --force-depends.
  # shellcheck disable=SC2086  # one package name a word
  [[ -z $unneeded ]] || chroot "$dir" dpkg --purge --force-remove-protected $unneeded \
    >"$LOG_DIR/base-purge-$SUITE.log" 2>&1 \
    || fail "dpkg --purge in the $SUITE base failed; see $LOG_DIR/base-purge-$SUITE.log"
  rm -rf "$dir"/var/lib/apt "$dir"/var/cache/apt "$dir"/etc/apt "$dir"/var/lib/dpkg/*-old \
    "$dir"/var/log/*
}

slim() {
  local dir=$1
  rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/*.bin "$dir"/var/cache/apt/archives/*.deb \
    "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/* \
    "$dir"/usr/share/locale/* "$dir"/usr/share/zoneinfo/right \
    "$dir"/var/cache/debconf/*-old "$dir"/var/lib/dpkg/*-old "$dir"/var/lib/dpkg/available \
    "$dir"/var/log/*
  # Data only developer tools read: shell completion, lintian overrides, reportbug hooks, gdb's
  # pretty printers, and dpkg's symbols/shlibs files (dpkg-shlibdeps, when building packages;
  # dpkg -i/-L/-S/--purge/--audit never read them; the md5sums stay, --audit wants them).
  rm -rf "$dir"/usr/share/bash-completion "$dir"/usr/share/lintian "$dir"/usr/share/bug \
    "$dir"/usr/share/gdb "$dir"/usr/share/gcc
  find "$dir"/var/lib/dpkg/info \( -name '*.symbols' -o -name '*.shlibs' \) -delete
  # 2to3, pydoc's help topics, CPython's own test package, IDLE/Tk when present.
  local part
  for part in lib2to3 pydoc_data test idlelib tkinter turtledemo; do
    rm -rf "$dir"/usr/lib/python3.*/"$part"
  done
  # turtle cannot import without tkinter (gone above; Debian ships it apart, in python3-tk), and
  # CPython's C test modules are loaded by its test package only (gone above).
  rm -f "$dir"/usr/lib/python3.*/turtle.py "$dir"/usr/lib/python3.*/__pycache__/turtle.*
  local dynload
  for dynload in _test _ctypes_test _xxtestfuzz xxlimited xxsubtype; do
    rm -f "$dir"/usr/lib/python3.*/lib-dynload/"$dynload"*.so
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
  import_tree "$dir" "$APT_IMAGE" "and apt"
  purge_unneeded "$dir"
  import_tree "$dir" "$IMAGE" "(no apt: .debs go in with dpkg)"
  rm -rf "$dir"
}

import_tree() {
  local dir=$1 image=$2 what=$3
  say "docker import $image (recipe $RECIPE)"
  tar --numeric-owner -C "$dir" -c . | "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change "LABEL $RECIPE_LABEL=$RECIPE" \
    --change 'LABEL org.opencontainers.image.title=modelbay-python-base' \
    --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase with python3 ($PYTHON), venv $what\"" \
    --change 'CMD ["python3"]' \
    - "$image" >/dev/null
}

recipe_of() {
  "$DOCKER" image inspect --format "{{index .Config.Labels \"$RECIPE_LABEL\"}}" "$1" 2>/dev/null \
    || true
}

main() {
  hold_lock "base-image-$SUITE" 1800
  "$DOCKER" info >/dev/null 2>&1 || fail "Docker engine is not answering; run scripts/services/docker.sh first"
  if [[ $(recipe_of "$IMAGE") != "$RECIPE" || $(recipe_of "$APT_IMAGE") != "$RECIPE" ]]; then
    import_image
  fi
  echo "$IMAGE"
}

main "$@"
