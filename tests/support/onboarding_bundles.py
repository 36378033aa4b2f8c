"""Bundles and archives for the onboarding tests, made with the real SDK (modelbay.dump and
write_archive), plus hand-made tar archives for the attacks the SDK would never produce."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from modelbay import Model, dump
from modelbay.bundle import archive_to_file, file_checksums


def add(x: float, y: float) -> float:
    """Adds two numbers."""
    return x + y


def make_bundle_dir(
    target: Path, *, samples: bool = True, name: str = "adder", **dump_options: Any
) -> Path:
    """A real bundle directory written by the SDK (a one-method model with one sample)."""
    model = Model(add=add, samples={"add": [{"x": 1.0, "y": 2.0}]} if samples else None)
    return dump(model, name, target, **dump_options)


def archive(bundle_dir: Path, destination: Path) -> Path:
    return archive_to_file(bundle_dir, destination)


def edit_manifest(bundle_dir: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = bundle_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def refresh_checksums(bundle_dir: Path) -> None:
    """Re-sign the files after a deliberate edit, so only the edited property is wrong."""
    edit_manifest(bundle_dir, lambda m: m.__setitem__("files", file_checksums(bundle_dir)))


def tar_gz(members: Sequence[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    """A .tar.gz made of raw members: the attacker's toolkit."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return gzip.compress(raw.getvalue())


def regular(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    return tarfile.TarInfo(name), data


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def device(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
    return info, None
