"""Locks and wheelhouses: what `pip download` produced, named and packed reproducibly.

- The **lock** is `name==version` of every downloaded wheel (canonical names), sorted.
- `lock_hash` = SHA-256 over the lock, the Python version and the platform, so the same pins
  for another target are another wheelhouse.
- The **wheelhouse** is an uncompressed tar (wheels are already compressed) of the wheels plus
  `requirements.lock.txt`, with sorted members and zeroed metadata: the same wheels give the
  same bytes.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterable
from pathlib import Path

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

LOCK_FILE = "requirements.lock.txt"
PLATFORM = "manylinux_x86_64"


def requirements_hash(requirements: Iterable[str], python_version: str, index_url: str) -> str:
    """Cache key of a resolution: the same inputs on the same index give the same lock."""
    lines = sorted(set(requirements))
    text = "\n".join([*lines, f"python={python_version}", f"platform={PLATFORM}", index_url])
    return hashlib.sha256(text.encode()).hexdigest()


def lock_from_wheels(directory: Path) -> tuple[str, ...]:
    """`name==version` for every wheel in `directory`, sorted by name."""
    pins = set()
    for wheel in directory.glob("*.whl"):
        try:
            name, version, _, _ = parse_wheel_filename(wheel.name)
        except InvalidWheelFilename:
            continue
        pins.add(f"{canonicalize_name(name)}=={version}")
    return tuple(sorted(pins))


def lock_hash(lock: Iterable[str], python_version: str) -> str:
    text = "\n".join([*lock, f"python={python_version}", f"platform={PLATFORM}"])
    return hashlib.sha256(text.encode()).hexdigest()


def lock_file_text(lock: Iterable[str], python_version: str) -> str:
    header = f"# Modelbay lock for Python {python_version} on {PLATFORM}; install with --no-index\n"
    return header + "".join(f"{pin}\n" for pin in lock)


def write_wheelhouse(directory: Path, lock: tuple[str, ...], python_version: str, out: Path) -> int:
    """Pack the wheels of `directory` and the lock file into `out`; return the wheel count."""
    wheels = sorted(directory.glob("*.whl"), key=lambda path: path.name)
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, LOCK_FILE, lock_file_text(lock, python_version).encode())
        for wheel in wheels:
            info = _info(wheel.name, wheel.stat().st_size)
            with wheel.open("rb") as content:
                tar.addfile(info, content)
    return len(wheels)


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    tar.addfile(_info(name, len(data)), io.BytesIO(data))


def _info(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = size, 0o644, 0
    return info
