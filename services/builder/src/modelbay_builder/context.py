"""The build context of a model image: a Dockerfile and its inputs, packed deterministically.

Layer order (docs/builder.md): base → venv + `pip install --no-index` from the wheelhouse in one
step → the runtime wheel → the bundle last. The dependency step sees only the wheelhouse
directory, whose bytes depend only on the lock: a new version with an unchanged lock hits the
build cache and rebuilds in seconds. Wheels stay in the `dependencies` stage; the final stage
copies the finished venv (`COPY --from`), because the legacy builder behind docker-py's build API
has no `RUN --mount`.

The context tar is byte-identical for identical inputs (sorted members, fixed mtime, owner and
modes), so a rebuild sends Docker exactly the same files.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

LOCK_FILE = "requirements.lock.txt"
WHEELHOUSE_DIR = "wheelhouse"
RUNTIME_DIR = "runtime"
BUNDLE_DIR = "bundle"
SYSTEM_PACKAGES_DIR = "system-packages"
DOCKERFILE = "Dockerfile"

VENV = "/opt/venv"
RUNTIME_TARGET = "/opt/modelbay-runtime"
MODEL_DIR = "/model"
SERVER_PORT = 8080
# The runtime's gRPC port (OIP v2 and the model's own service, docs/runtime.md "gRPC").
GRPC_PORT = 8081
# Numeric, so no `useradd` step is needed and any base image works; HOME points at the tmpfs
# because the root filesystem is read-only when validated (and should be in production too).
RUNTIME_USER = "10001:10001"
# 2000-01-01T00:00:00Z: any fixed value makes the context (and the COPY layers) reproducible.
FIXED_MTIME = 946684800

SERVER_COMMAND = [
    f"{VENV}/bin/python",
    "-m",
    "modelbay_runtime",
    "serve",
    MODEL_DIR,
    "--host",
    "0.0.0.0",
    "--port",
    str(SERVER_PORT),
]
# No curl in a slim image: the venv's python probes readiness.
HEALTHCHECK_COMMAND = [
    f"{VENV}/bin/python",
    "-c",
    "import urllib.request; "
    f"urllib.request.urlopen('http://127.0.0.1:{SERVER_PORT}/readyz', timeout=4)",
]

# Markers the build-log parser looks for to tell whether the dependency layer came from cache.
PIP_INSTALL_MARKER = f"pip install --no-index --find-links /tmp/{WHEELHOUSE_DIR}"
VENV_COPY_MARKER = f"COPY --from=dependencies {VENV} {VENV}"

# What a served model never loads, removed in the step that installs it (so it never reaches a
# layer): pip (and setuptools/wheel unless the lock pins them: pkg_resources users need it), the
# test suites packages ship inside themselves (`tests`, or `test` like joblib's 1 MB of pickles),
# C/Cython sources and headers, static libraries (`*.a`: only for compiling against NumPy).
# Compiled bytecode stays: a cold start needs it (docs/builder.md, "Lean images").
_LEAN_VENV = """\
 && {venv}/bin/python -m pip uninstall -y -q pip \\
    $(for dist in setuptools wheel; do \\
        if ! grep -qi "^$dist==" /tmp/{wheelhouse}/{lock_file} \\
          && {venv}/bin/python -m pip show -q $dist >/dev/null 2>&1; then echo $dist; fi; \\
      done) \\
 && find {venv}/lib -mindepth 4 -depth -type d \\( -name tests -o -name test \\
    -o -name testing_data \\) -path '*/site-packages/*/*' -exec rm -rf {{}} + \\
 && find {venv}/lib -path '*/site-packages/*' -type f \\( -name '*.pyx' -o -name '*.pxd' \\
    -o -name '*.pxi' -o -name '*.c' -o -name '*.cpp' -o -name '*.h' -o -name '*.hpp' \\
    -o -name '*.pyi' -o -name '*.a' \\) -delete \\
 && rm -rf /root/.cache"""

# Where the strip tool image (scripts/build-strip-tool-image.sh) keeps GNU strip with its own
# loader and libraries, so it runs in the build stage of any x86-64 base.
STRIP_TOOL_DIR = "/opt/modelbay-strip"

# Symbols of the venv's extension modules a served model never needs (about a tenth of the iris
# venv), stripped in the same step so the unstripped files never reach a layer. The libraries
# auditwheel vendored (`*.libs/`) are skipped: patchelf rewrote their program headers and strip
# moves sections so a load segment is no longer page-aligned (measured: OpenBLAS stops loading).
# A file strip refuses is left as it was and named in the build log. Byte-identical vendored
# libraries (NumPy's and SciPy's libgfortran/libquadmath) become one hard link. A library strip
# breaks anyway fails validation, which loads the model and calls it; MODELBAY_BUILDER_STRIP=0
# turns this off (docs/builder.md, "Lean images").
_STRIP_VENV = """ \\
 && find {venv}/lib -type d -name '*.libs' -prune \\
    -o -type f \\( -name '*.so' -o -name '*.so.[0-9]*' \\) -print0 \\
    | xargs -0 -r sh -c 'for lib; do {strip} --strip-unneeded "$lib" 2>/dev/null \\
      || echo "modelbay: left unstripped: $lib"; done' strip \\
 && find {venv}/lib -path '*/site-packages/*.libs/*' -type f -exec sha256sum {{}} + | sort \\
    | while read -r sum lib; do \\
        if [ "$sum" = "$previous" ]; then ln -f "$first" "$lib"; \\
        else previous=$sum; first=$lib; fi; \\
      done"""

# Debian packages the wheels need (docs/system-packages.md), installed from `.deb` files fetched
# by the resolver: only those the base lacks at that version (the build has no network).
_SYSTEM_PACKAGES_STAGE = """\
FROM {base_image} AS system-packages
COPY {debs}/ /tmp/{debs}/
RUN cd /tmp/{debs} && install="" \\
 && for deb in *.deb; do \\
      name="$(dpkg-deb -f "$deb" Package)"; version="$(dpkg-deb -f "$deb" Version)"; \\
      [ "$(dpkg-query -W -f '${{Version}}' "$name" 2>/dev/null)" = "$version" ] \\
        || install="$install $deb"; \\
    done \\
 && if [ -n "$install" ]; then dpkg -i $install; fi \\
 && cd / && rm -rf /tmp/{debs}

"""

_DOCKERFILE_TEMPLATE = """\
# Generated by modelbay-builder (docs/builder.md). Do not edit: layers are ordered for caching.
{system_stage}FROM {image_base} AS dependencies
{strip_copy}COPY {wheelhouse}/ /tmp/{wheelhouse}/
RUN python3 -m venv {venv} \\
 && {venv}/bin/{pip_marker} --only-binary=:all: \\
    --no-cache-dir --disable-pip-version-check -r /tmp/{wheelhouse}/{lock_file} \\
{lean}{strip}

FROM {base_image} AS runtime
COPY {runtime}/ /tmp/{runtime}/
RUN python3 -m venv /tmp/installer \\
 && /tmp/installer/bin/pip install --no-index --no-deps --no-cache-dir \\
    --disable-pip-version-check --target {runtime_target} /tmp/{runtime}/{runtime_wheel}

FROM {image_base}
{venv_copy}
COPY --from=runtime {runtime_target} {runtime_target}
ENV PATH={venv}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PYTHONPATH={runtime_target} \\
    PYTHONUNBUFFERED=1 \\
    HOME=/tmp \\
    MODELBAY_RUNTIME_GRPC_PORT={grpc_port}
USER {user}
EXPOSE {port} {grpc_port}
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 CMD {healthcheck}
CMD {command}
COPY {bundle}/ {model_dir}/
"""


@dataclass(frozen=True)
class ContextInputs:
    """Everything a build context is made of; equal inputs give byte-identical contexts."""

    base_image: str
    lock: Sequence[str]
    python_version: str
    wheels: Sequence[Path]
    runtime_wheel: Path
    bundle_files: Sequence[tuple[str, Path]]  # (relative posix path inside the bundle, file)
    system_debs: Sequence[Path] = ()  # `.deb` files of the system-package layer, if any
    # The image GNU strip is copied from into the build stage; None: symbols are not stripped.
    strip_image: str | None = None


def render_dockerfile(
    base_image: str,
    runtime_wheel_name: str,
    *,
    system_packages: bool = False,
    strip_image: str | None = None,
) -> str:
    """The Dockerfile of a model image; it depends on the base, the runtime wheel, whether a
    system-package layer sits between the base and the venv and whether (with what image's
    tool) the venv's extension modules are stripped."""
    fields = {"venv": VENV, "wheelhouse": WHEELHOUSE_DIR, "lock_file": LOCK_FILE}
    system_stage = (
        _SYSTEM_PACKAGES_STAGE.format(base_image=base_image, debs=SYSTEM_PACKAGES_DIR)
        if system_packages
        else ""
    )
    return _DOCKERFILE_TEMPLATE.format(
        system_stage=system_stage,
        image_base="system-packages" if system_packages else base_image,
        lean=_LEAN_VENV.format(**fields),
        strip_copy=(
            f"COPY --from={strip_image} {STRIP_TOOL_DIR} {STRIP_TOOL_DIR}\n" if strip_image else ""
        ),
        strip=_STRIP_VENV.format(venv=VENV, strip=f"{STRIP_TOOL_DIR}/strip") if strip_image else "",
        base_image=base_image,
        wheelhouse=WHEELHOUSE_DIR,
        runtime=RUNTIME_DIR,
        bundle=BUNDLE_DIR,
        lock_file=LOCK_FILE,
        venv=VENV,
        pip_marker=PIP_INSTALL_MARKER,
        venv_copy=VENV_COPY_MARKER,
        runtime_target=RUNTIME_TARGET,
        runtime_wheel=runtime_wheel_name,
        model_dir=MODEL_DIR,
        user=RUNTIME_USER,
        port=SERVER_PORT,
        grpc_port=GRPC_PORT,
        healthcheck=json.dumps(HEALTHCHECK_COMMAND),
        command=json.dumps(SERVER_COMMAND),
    )


def lock_file_text(lock: Iterable[str], python_version: str) -> str:
    """The requirements file pip installs; written from the event's lock, so it is a function
    of the lock alone (whatever file the resolver shipped in the wheelhouse)."""
    header = f"# Modelbay lock for Python {python_version}; installed with --no-index\n"
    return header + "".join(f"{pin}\n" for pin in sorted(lock))


def write_context(inputs: ContextInputs, out: BinaryIO) -> None:
    """Write the build context tar (uncompressed) of `inputs` to `out`."""
    dockerfile = render_dockerfile(
        inputs.base_image,
        inputs.runtime_wheel.name,
        system_packages=bool(inputs.system_debs),
        strip_image=inputs.strip_image,
    )
    entries: list[tuple[str, bytes | Path]] = [
        (DOCKERFILE, dockerfile.encode()),
        (
            f"{WHEELHOUSE_DIR}/{LOCK_FILE}",
            lock_file_text(inputs.lock, inputs.python_version).encode(),
        ),
        (f"{RUNTIME_DIR}/{inputs.runtime_wheel.name}", inputs.runtime_wheel),
    ]
    entries += [(f"{WHEELHOUSE_DIR}/{wheel.name}", wheel) for wheel in inputs.wheels]
    entries += [(f"{SYSTEM_PACKAGES_DIR}/{deb.name}", deb) for deb in inputs.system_debs]
    entries += [
        (f"{BUNDLE_DIR}/{_safe_relative(relative)}", path) for relative, path in inputs.bundle_files
    ]
    _check_unique(name for name, _ in entries)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in _directories(name for name, _ in entries):
            tar.addfile(_info(directory, 0, directory=True))
        for name, content in sorted(entries, key=lambda entry: entry[0]):
            _add(tar, name, content)


def _add(tar: tarfile.TarFile, name: str, content: bytes | Path) -> None:
    if isinstance(content, bytes):
        tar.addfile(_info(name, len(content)), io.BytesIO(content))
        return
    with content.open("rb") as stream:
        tar.addfile(_info(name, content.stat().st_size), stream)


def _info(name: str, size: int, *, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o755 if directory else 0o644
    if directory:
        info.type = tarfile.DIRTYPE
    return info


def _directories(names: Iterable[str]) -> list[str]:
    # Explicit directory entries with fixed metadata; otherwise Docker invents them with the
    # build's current time, which would make the COPY layers differ between builds.
    found: set[str] = set()
    for name in names:
        found.update(str(parent) for parent in PurePosixPath(name).parents if str(parent) != ".")
    return sorted(found)


def _safe_relative(relative: str) -> str:
    path = PurePosixPath(relative)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"bundle file {relative!r} is not a safe relative path")
    return path.as_posix()


def _check_unique(names: Iterable[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ValueError(f"build context would contain {name!r} twice")
        seen.add(name)
