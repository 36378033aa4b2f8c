"""Which Python versions this platform serves: the registered base images, one per `major.minor`.

A bundle's pickled code runs only on the Python `major.minor` that made it, so a model image is
built `FROM` a base image with that Python. Onboarding refuses at upload a bundle whose version
has no base image here (422 naming the versions served); the builder picks the base image of the
bundle's version. Both read the same setting, `MODELBAY_PYTHON_BASE_IMAGES` (a JSON object), so one
variable registers a base image for the whole platform (docs/builder.md, "Python versions").
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PYTHON_BASE_IMAGES_DESCRIPTION = (
    "Registered model base images, a JSON object `major.minor` → image with that Python and its "
    'venv module, e.g. `{"3.11": "modelbay/python:3.11-bookworm"}`; its keys are the Python '
    "versions a bundle may be made with (shared: `MODELBAY_PYTHON_BASE_IMAGES`)"
)
DEFAULT_PYTHON_BASE_IMAGES: dict[str, str] = {"3.11": "modelbay/python:3.11-bookworm"}
_MAJOR_MINOR = re.compile(r"^3\.\d{1,2}$")


def check_python_base_images(images: Mapping[str, str]) -> dict[str, str]:
    """The mapping itself if every key is a `3.N` version and every image a non-empty name."""
    if not images:
        raise ValueError("python_base_images needs at least one `major.minor` → image entry")
    for version, image in images.items():
        if not _MAJOR_MINOR.match(version):
            raise ValueError(f"python_base_images key {version!r} is not a `3.N` version")
        if not image.strip():
            raise ValueError(f"python_base_images[{version!r}] is an empty image name")
    return dict(images)


def served_python_versions(images: Mapping[str, str]) -> tuple[str, ...]:
    """The registered versions, oldest first (`3.9` before `3.11`)."""
    return tuple(sorted(images, key=lambda version: tuple(int(p) for p in version.split("."))))
