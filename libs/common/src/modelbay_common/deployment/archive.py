"""The downloadable form of a deployment: one archive per kind, tar.gz or zip.

Both formats hold the same files under one top directory (`<owner>-<name>-<version>-<kind>/`),
with fixed timestamps and modes so equal facts give byte-identical archives (and ETags).
"""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from collections.abc import Callable, Mapping
from enum import StrEnum

from modelbay_common.deployment.compose import compose_files
from modelbay_common.deployment.facts import DeploymentFacts
from modelbay_common.deployment.kustomize import kustomize_files

__all__ = ["ArchiveFormat", "DeployKind", "deployment_archive", "deployment_files"]

_EPOCH = 946684800  # 2000-01-01, as the builder's contexts
_ZIP_EPOCH = (2000, 1, 1, 0, 0, 0)


class DeployKind(StrEnum):
    COMPOSE = "compose"
    KUSTOMIZE = "kustomize"

    @property
    def description(self) -> str:
        return _DESCRIPTIONS[self]


_DESCRIPTIONS = {
    DeployKind.COMPOSE: "`docker-compose.yml` running the version (a solution: its nodes and "
    "orchestrator on one network), images pinned by digest.",
    DeployKind.KUSTOMIZE: "A Kustomize base with `dev` and `production` overlays: Deployment "
    "(probes, requests/limits from the measured idle memory, non-root, read-only root), "
    "Service, HorizontalPodAutoscaler; images pinned by digest.",
}

_GENERATORS: dict[DeployKind, Callable[[DeploymentFacts], dict[str, bytes]]] = {
    DeployKind.COMPOSE: compose_files,
    DeployKind.KUSTOMIZE: kustomize_files,
}


class ArchiveFormat(StrEnum):
    TAR_GZ = "tar.gz"
    ZIP = "zip"

    @property
    def media_type(self) -> str:
        return "application/gzip" if self is ArchiveFormat.TAR_GZ else "application/zip"


def deployment_files(facts: DeploymentFacts, kind: DeployKind | str) -> dict[str, bytes]:
    return _GENERATORS[DeployKind(kind)](facts)


def root_directory(facts: DeploymentFacts, kind: DeployKind | str) -> str:
    return f"{facts.owner}-{facts.name}-{facts.version}-{DeployKind(kind)}"


def _tar_gz(root: str, files: Mapping[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        directories = sorted({root, *(f"{root}/{d}" for p in files for d in _parents(p))})
        for directory in directories:
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, _EPOCH
            archive.addfile(info)
        for path in sorted(files):
            info = tarfile.TarInfo(f"{root}/{path}")
            info.size, info.mode, info.mtime = len(files[path]), 0o644, _EPOCH
            archive.addfile(info, io.BytesIO(files[path]))
    return gzip.compress(raw.getvalue(), mtime=0)


def _parents(path: str) -> list[str]:
    parts = path.split("/")[:-1]
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


def _zip(root: str, files: Mapping[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files):
            info = zipfile.ZipInfo(f"{root}/{path}", date_time=_ZIP_EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[path])
    return raw.getvalue()


def deployment_archive(
    facts: DeploymentFacts, kind: DeployKind | str, archive_format: ArchiveFormat | str
) -> tuple[str, bytes]:
    """`(file name, bytes)` of the `kind` files of `facts` in `archive_format`."""
    kind, archive_format = DeployKind(kind), ArchiveFormat(archive_format)
    root = root_directory(facts, kind)
    files = deployment_files(facts, kind)
    writer = _tar_gz if archive_format is ArchiveFormat.TAR_GZ else _zip
    return f"{root}.{archive_format}", writer(root, files)
