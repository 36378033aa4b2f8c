"""Checking the `image.tar` of a pre-built image bundle at upload (docs/prebuilt-images.md).

The tarball is read as a stream in the archive's one pass, never extracted or loaded: it must be
a `docker save` archive of exactly one image whose config and layers are all in the tarball (so
the builder's `docker load` cannot reach for anything else). Running it is the builder's job,
in the validation sandbox.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass
from typing import IO, Any

from modelbay_onboarding.validation.problems import BundleProblems

IMAGE_FILE = "image.tar"
_MAX_MANIFEST_BYTES = 1 << 20


@dataclass(frozen=True)
class SavedImage:
    repo_tags: tuple[str, ...]
    layers: int


def scan_image_tar(stream: IO[bytes]) -> SavedImage | str:
    """The saved image's facts, or why the tarball is refused."""
    names: set[str] = set()
    manifest: Any = None
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                names.add(member.name.removeprefix("./"))
                if member.name.removeprefix("./") == "manifest.json" and member.isfile():
                    if member.size > _MAX_MANIFEST_BYTES:
                        return "has a manifest.json too large for a docker save archive"
                    content = tar.extractfile(member)
                    manifest = json.loads(content.read()) if content else None
    except (tarfile.TarError, ValueError, EOFError) as exc:
        return f"is not a tar archive (docker save IMAGE -o image.tar): {exc}"
    if not isinstance(manifest, list):
        return "has no manifest.json: make it with `docker save IMAGE -o image.tar`"
    if len(manifest) != 1 or not isinstance(manifest[0], dict):
        return f"holds {len(manifest)} images; save exactly one"
    entry = manifest[0]
    wanted = [entry.get("Config"), *(entry.get("Layers") or [])]
    missing = [str(name) for name in wanted if not isinstance(name, str) or name not in names]
    if missing:
        return f"lacks files its manifest.json names: {', '.join(missing[:5])}"
    return SavedImage(tuple(entry.get("RepoTags") or ()), len(wanted) - 1)


def check_image_tar(scanned: object, problems: BundleProblems) -> None:
    if isinstance(scanned, str):
        problems.add(IMAGE_FILE, scanned)
    elif not isinstance(scanned, SavedImage):
        problems.add(IMAGE_FILE, "was not found in the archive")
