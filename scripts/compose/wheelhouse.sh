#!/usr/bin/env bash
# Downloads, on the host, every wheel the compose images install, so that no image build needs
# PyPI (containers cannot reach it here; an air-gapped site is in the same position):
#
#   var/compose/wheelhouse/requirements/<service>.txt  third-party pins of uv.lock, with hashes
#   var/compose/wheelhouse/third-party/*.whl            those wheels (the union, for the target)
#   var/compose/wheelhouse/members/*.whl                the workspace members, built from source
#   var/compose/wheelhouse/s3/*.whl + s3.txt            moto, the S3 stand-in of the local override
#
# The target is the images' interpreter: CPython 3.11 on manylinux x86_64 (Debian bookworm and
# python:3.11-slim both qualify). deploy/Dockerfile.service installs from these directories with
# `pip install --no-index --require-hashes`, so what runs is exactly what uv.lock pins.
# Idempotent and quick when nothing changed: pip skips wheels already present, and the member
# wheels are rebuilt only when their sources changed.
#
# Source: the working tree, or with `--from-git REF` (e.g. HEAD) that commit, exported to a
# scratch directory: in a checkout shared by several people, half-made edits of others then never
# reach the images. The e2e test uses HEAD; in a clean clone (CI) the two are the same.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SOURCE=$ROOT
if [[ ${1:-} == --from-git ]]; then
  REF=${2:?usage: wheelhouse.sh [--from-git REF]}
  SOURCE=$(mktemp -d "${TMPDIR:-/tmp}/modelbay-wheelhouse-XXXXXX")
  trap 'rm -rf "$SOURCE"' EXIT
  git -C "$ROOT" archive "$REF" | tar -x -C "$SOURCE"
fi
UV="$ROOT/.tools/bin/uv"
PYTHON="$ROOT/.venv/bin/python"
OUT="$ROOT/var/compose/wheelhouse"
SERVICES=(onboarding catalog builder gateway)
# The members each service image installs (no-deps), in dependency order.
MEMBERS=(common runtime onboarding catalog builder gateway)
PLATFORM_FLAGS=(--only-binary=:all: --implementation cp --python-version 3.11
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64)

say() { echo "==> wheelhouse: $*"; }

[[ -x $UV && -x $PYTHON ]] || { echo "run \`make setup\` first (.tools/bin/uv, .venv)" >&2; exit 1; }
mkdir -p "$OUT/requirements" "$OUT/third-party" "$OUT/members" "$OUT/s3"

# pip's warnings about this machine's own extra indexes are noise here.
pip_download() {
  "$PYTHON" -m pip download --disable-pip-version-check --no-input --progress-bar off -q \
    "${PLATFORM_FLAGS[@]}" "$@" 2> >(grep -v 'is ignored: it is neither a file' >&2)
}

for service in "${SERVICES[@]}"; do
  requirements="$OUT/requirements/$service.txt"
  "$UV" export --project "$SOURCE" --quiet --frozen --no-dev --no-emit-workspace --no-header \
    --package "modelbay-$service" -o "$requirements.tmp"
  mv "$requirements.tmp" "$requirements"
  # pip asks the index about every pin even when the wheel is already here (~15 s a service):
  # skip a service whose pins were all downloaded before.
  if cmp -s "$requirements" "$requirements.downloaded"; then
    continue
  fi
  say "downloading $service's $(grep -c '==' "$requirements") pinned distributions"
  pip_download --require-hashes -r "$requirements" -d "$OUT/third-party"
  cp "$requirements" "$requirements.downloaded"
done

# A member is rebuilt when the hash of its source files differs from the one its wheel was
# built from (mtimes would not do: an exported commit has fresh ones every time).
member_dir() { case $1 in common | runtime) echo "libs/$1" ;; *) echo "services/$1" ;; esac; }
for member in "${MEMBERS[@]}"; do
  dir="$SOURCE/$(member_dir "$member")"
  stamp="$OUT/members/modelbay_${member}.sources"
  hash=$(cd "$dir" && find . -type f -not -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z |
    xargs -0 sha256sum | sha256sum | cut -c1-64)
  if [[ -f $stamp && $(<"$stamp") == "$hash" ]] && ls "$OUT/members/modelbay_${member}-"*.whl >/dev/null 2>&1; then
    continue
  fi
  rm -f "$OUT/members/modelbay_${member}-"*.whl
  say "building the $member wheel"
  (cd "$SOURCE" && "$UV" build --quiet --wheel --package "modelbay-$member" -o "$OUT/members")
  ls "$OUT/members/modelbay_${member}-"*.whl >/dev/null
  echo "$hash" >"$stamp"
done

# moto for the S3 stand-in of deploy/docker-compose.local.yml: the version the host's services
# run (scripts/services/s3.sh), with the extras its S3 and IAM back-ends import.
moto_version=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("moto"))')
echo "moto[server,s3,iam]==$moto_version" >"$OUT/s3.txt.new"
if ! cmp -s "$OUT/s3.txt.new" "$OUT/s3.txt" || [[ ! -f $OUT/s3.downloaded ]]; then
  say "downloading moto $moto_version for the S3 stand-in"
  mv "$OUT/s3.txt.new" "$OUT/s3.txt"
  pip_download -r "$OUT/s3.txt" -d "$OUT/s3"
  touch "$OUT/s3.downloaded"
fi
rm -f "$OUT/s3.txt.new"
say "ready in ${OUT#"$ROOT"/}"
