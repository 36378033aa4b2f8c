"""Image size against what it must contain: the base image, the wheels and the bundle.

Sizes are the Docker engine's uncompressed sizes (`docker image inspect` and `docker history`),
the wheelhouse is the stored tar of the resolved wheels (compressed, as downloaded), the bundle
is the uploaded archive. Installed wheels are larger than the wheels themselves (they are zip
files), so the venv layer is reported next to the wheelhouse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import docker
from docker.errors import ImageNotFound


@dataclass(frozen=True)
class ImageSizes:
    mode: str
    image_ref: str
    image_bytes: int
    base_bytes: int
    venv_layer_bytes: int
    runtime_layer_bytes: int
    bundle_layer_bytes: int
    wheelhouse_bytes: int
    archive_bytes: int

    @property
    def budget_bytes(self) -> int:
        """The issue's target: base + wheels + model, plus 10 %."""
        return int((self.base_bytes + self.wheelhouse_bytes + self.archive_bytes) * 1.10)

    @property
    def installed_budget_bytes(self) -> int:
        """The same target with the wheels counted as installed (the venv layer)."""
        return int((self.base_bytes + self.venv_layer_bytes + self.archive_bytes) * 1.10)

    @property
    def overhead_bytes(self) -> int:
        """What the image holds beyond base, installed dependencies and bundle."""
        return self.image_bytes - self.base_bytes - self.venv_layer_bytes - self.bundle_layer_bytes


def _layer_size(history: list[dict[str, Any]], target: str) -> int:
    """Bytes of the layers that copy into `target` (`COPY ... in /opt/venv`)."""
    return sum(
        int(layer.get("Size", 0)) for layer in history if layer["CreatedBy"].endswith(target)
    )


def measure_image(
    client: docker.DockerClient,
    mode: str,
    image_ref: str,
    base_image: str,
    wheelhouse_bytes: int,
    archive_bytes: int,
) -> ImageSizes:
    try:
        image = client.images.get(image_ref)  # the builder leaves it in this engine
    except ImageNotFound:
        # A bare pull would need a registry token (the registry is behind auth: docs/trust.md).
        raise RuntimeError(
            f"{image_ref} is not in this Docker engine; measure on the builder's"
        ) from None
    history: list[dict[str, Any]] = client.api.history(image_ref)
    # docker history keeps a trailing space after the COPY target.
    for layer in history:
        layer["CreatedBy"] = str(layer.get("CreatedBy") or "").rstrip()
    return ImageSizes(
        mode=mode,
        image_ref=image_ref,
        image_bytes=int(image.attrs["Size"]),
        base_bytes=int(client.images.get(base_image).attrs["Size"]),
        venv_layer_bytes=_layer_size(history, " in /opt/venv"),
        runtime_layer_bytes=_layer_size(history, " in /opt/modelbay-runtime"),
        bundle_layer_bytes=_layer_size(history, " in /model/") + _layer_size(history, " in /model"),
        wheelhouse_bytes=wheelhouse_bytes,
        archive_bytes=archive_bytes,
    )
