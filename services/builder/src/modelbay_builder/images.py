"""Exporting a pushed image as a `docker save` tarball (the gateway's image download)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from docker.errors import DockerException, ImageNotFound
from modelbay_common.errors import ServiceUnavailable

from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.registry import RegistryCredentials, pull_image

EXPORT_CHUNK_BYTES = 1024 * 1024


class ImageExporter(Protocol):
    def prepare(self, image_ref: str) -> None:
        """Make sure the image is in the local engine (pull it from the registry if not)."""

    def export(self, image_ref: str) -> Iterator[bytes]:
        """The `docker save` tar stream of the image, tagged with `image_ref`."""


class DockerImageExporter:
    def __init__(
        self, connection: DockerConnection, credentials: RegistryCredentials | None = None
    ) -> None:
        self._connection = connection
        self._credentials = credentials or RegistryCredentials(None)

    def prepare(self, image_ref: str) -> None:
        try:
            self._connection.client.images.get(image_ref)
        except ImageNotFound:
            self._pull(image_ref)
        except DockerException as exc:
            raise ServiceUnavailable("The Docker engine does not answer.") from exc

    def export(self, image_ref: str) -> Iterator[bytes]:
        # Saving by reference (not by id) keeps the repository:tag in the tarball, so
        # `docker load` gives the user the image under its registry name.
        yield from self._connection.client.api.get_image(image_ref, chunk_size=EXPORT_CHUNK_BYTES)

    def _pull(self, image_ref: str) -> None:
        try:
            pull_image(self._connection.client, image_ref, self._credentials)
        except DockerException as exc:
            raise ServiceUnavailable(
                f"The image {image_ref} is neither in the local engine "
                "nor pullable from the registry."
            ) from exc
