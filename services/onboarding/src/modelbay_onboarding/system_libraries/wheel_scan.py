"""Which shared libraries the locked wheels need from the system (docs/system-packages.md).

Every ELF shared object inside every wheel is read (`elf.read_dynamic_section`); a `DT_NEEDED`
soname is *met inside the lock* when some wheel of the lock ships a shared object with that name
(its file name or its `DT_SONAME`): that covers auditwheel's vendored `<dist>.libs/` copies and
a wheel that links another wheel's library. What remains, minus the platform floor below, must
come from the system: `needs_from_system` maps each such soname to the distributions that need it.

The floor is the manylinux policy's own list of libraries a wheel may assume on any glibc Linux
(PEP 600; auditwheel's `policy.json`) minus its X11/GL/GLib entries, which a slim image does not
have: glibc's libraries, the loader, libgcc_s and libstdc++. A base image that cannot run manylinux
wheels cannot serve any model, so these are never packages of a model.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from modelbay_onboarding.system_libraries.elf import ElfError, is_elf, read_dynamic_section

PLATFORM_FLOOR = frozenset(
    {
        "ld-linux-x86-64.so.2",
        "libc.so.6",
        "libdl.so.2",
        "libm.so.6",
        "libmvec.so.1",
        "libnsl.so.1",
        "libpthread.so.0",
        "libresolv.so.2",
        "librt.so.1",
        "libutil.so.1",
        "libanl.so.1",
        "libgcc_s.so.1",
        "libstdc++.so.6",
    }
)

# The NVIDIA driver's user-space libraries. A GPU wheel links them (torch's libcaffe2_nvrtc.so needs
# libcuda.so.1), but no image may ship them: they must match the host's kernel module, and the
# NVIDIA Container Toolkit mounts the host's copies into a container started with GPUs. On a host
# without a GPU the wheel's CUDA code paths are simply not taken. Never a package of a model.
HOST_DRIVER_LIBRARIES = frozenset(
    {
        "libcuda.so.1",
        "libnvidia-ml.so.1",
        "libnvcuvid.so.1",
        "libnvidia-encode.so.1",
        "libnvidia-opticalflow.so.1",
    }
)


@dataclass(frozen=True)
class WheelLibraries:
    """The shared objects of one wheel: the sonames they need and the names they provide."""

    distribution: str  # canonical name
    needed: frozenset[str]
    provided: frozenset[str]


def is_shared_object_name(name: str) -> bool:
    """`libfoo.so`, `libfoo.so.1.2`, `_ext.cpython-311-x86_64-linux-gnu.so`, `cv2.abi3.so`."""
    base = PurePosixPath(name).name
    return base.endswith(".so") or ".so." in base


def scan_wheel(path: Path) -> WheelLibraries:
    """Read the dynamic section of every shared object in the wheel at `path`."""
    try:
        distribution = canonicalize_name(parse_wheel_filename(path.name)[0])
    except InvalidWheelFilename:
        distribution = canonicalize_name(path.name.split("-", 1)[0])
    needed: set[str] = set()
    provided: set[str] = set()
    with zipfile.ZipFile(path) as wheel:
        for member in wheel.infolist():
            if member.is_dir() or not is_shared_object_name(member.filename):
                continue
            with wheel.open(member) as stream:
                if not is_elf(stream.read(4)):
                    continue  # a linker script or a text file named like a library
            try:
                dynamic = read_dynamic_section(wheel.read(member))
            except ElfError:
                continue  # not something the loader could load either; pip's problem, not ours
            provided.add(PurePosixPath(member.filename).name)
            if dynamic is None:
                continue
            if dynamic.soname:
                provided.add(dynamic.soname)
            needed.update(dynamic.needed)
    return WheelLibraries(distribution, frozenset(needed), frozenset(provided))


def needs_from_system(wheels: Iterable[WheelLibraries]) -> dict[str, tuple[str, ...]]:
    """soname → the distributions needing it, for every soname the lock does not ship itself."""
    scanned = list(wheels)
    shipped = set().union(*(wheel.provided for wheel in scanned)) if scanned else set()
    needs: dict[str, set[str]] = {}
    for wheel in scanned:
        for soname in wheel.needed - shipped - PLATFORM_FLOOR - HOST_DRIVER_LIBRARIES:
            needs.setdefault(soname, set()).add(wheel.distribution)
    return {soname: tuple(sorted(dists)) for soname, dists in sorted(needs.items())}


def scan_directory(directory: Path) -> dict[str, tuple[str, ...]]:
    """`needs_from_system` of every wheel in `directory`."""
    return needs_from_system(scan_wheel(path) for path in sorted(directory.glob("*.whl")))


def needs_to_json(needs: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    return {soname: sorted(dists) for soname, dists in sorted(needs.items())}


def needs_from_json(data: object) -> dict[str, tuple[str, ...]]:
    """The stored form back; raises ValueError on anything else (a stale or foreign file)."""
    if not isinstance(data, dict) or not all(
        isinstance(key, str) and isinstance(value, list) and all(isinstance(d, str) for d in value)
        for key, value in data.items()
    ):
        raise ValueError("not a {soname: [distribution, ...]} object")
    return {key: tuple(value) for key, value in data.items()}
