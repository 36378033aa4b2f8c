"""The `modelbay-runtime` wheel that goes into every image, built once and cached.

Resolution order: `MODELBAY_BUILDER_RUNTIME_WHEEL` (a prebuilt wheel, e.g. baked into the
builder's own image), else a build of `MODELBAY_BUILDER_RUNTIME_SOURCE` (default: `libs/runtime`
of the source checkout this package runs from) with `uv build --wheel`, or `pip wheel --no-deps`
when uv is absent. The cache key is a hash of the source files, so a changed runtime gives a new
wheel (and a new runtime layer) while an unchanged one reuses the same file: hatchling builds
are reproducible, and the cached file is reused anyway.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import modelbay_builder
from modelbay_builder.errors import RuntimeWheelError

log = logging.getLogger(__name__)

_SOURCE_SUFFIXES = (".py", ".toml", ".typed", ".md", ".txt", ".cfg")


def find_runtime_source() -> Path | None:
    """`libs/runtime` of the checkout this package is installed from (editable installs)."""
    for parent in Path(modelbay_builder.__file__).resolve().parents:
        candidate = parent / "libs" / "runtime"
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return None


def source_hash(source: Path) -> str:
    """SHA-256 over the relative paths and contents of the files that make the wheel."""
    digest = hashlib.sha256()
    for path in sorted(source.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix not in _SOURCE_SUFFIXES:
            continue
        digest.update(path.relative_to(source).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class RuntimeWheel:
    """Gives the path of the runtime wheel, building it on first use (one build at a time)."""

    def __init__(self, cache_dir: Path, *, wheel: Path | None, source: Path | None) -> None:
        self._cache_dir = cache_dir
        self._wheel = wheel
        self._source = source
        self._lock = asyncio.Lock()
        self._built: Path | None = None

    async def path(self) -> Path:
        if self._wheel is not None:
            if not self._wheel.is_file():
                raise RuntimeWheelError(f"MODELBAY_BUILDER_RUNTIME_WHEEL {self._wheel} is missing")
            return self._wheel
        async with self._lock:
            if self._built is None or not self._built.is_file():
                self._built = await asyncio.to_thread(self._build_or_reuse)
            return self._built

    def _build_or_reuse(self) -> Path:
        source = self._source or find_runtime_source()
        if source is None or not (source / "pyproject.toml").is_file():
            raise RuntimeWheelError(
                "cannot find the modelbay-runtime sources; set MODELBAY_BUILDER_RUNTIME_WHEEL "
                "or MODELBAY_BUILDER_RUNTIME_SOURCE"
            )
        target = self._cache_dir / source_hash(source)
        existing = sorted(target.glob("modelbay_runtime-*.whl"))
        if existing:
            return existing[0]
        staging = self._cache_dir / f".{target.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        _run_wheel_build(source, staging)
        wheels = sorted(staging.glob("modelbay_runtime-*.whl"))
        if not wheels:
            raise RuntimeWheelError(f"building {source} produced no modelbay_runtime wheel")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        log.info("built the runtime wheel %s", target / wheels[0].name)
        return target / wheels[0].name


def _run_wheel_build(source: Path, out_dir: Path) -> None:
    uv = shutil.which("uv") or _workspace_uv(source)
    if uv:
        command = [uv, "build", "--wheel", "--out-dir", str(out_dir), str(source)]
    else:
        command = [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-w",
            str(out_dir),
            str(source),
        ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeWheelError(
            f"building the runtime wheel failed ({' '.join(command)}): {result.stderr[-2000:]}"
        )


def _workspace_uv(source: Path) -> str | None:
    # The repository keeps its pinned uv in .tools/bin (scripts/bootstrap.sh).
    for parent in source.parents:
        candidate = parent / ".tools" / "bin" / "uv"
        if candidate.is_file():
            return str(candidate)
    return None
