"""Whether a build strips the venv's extension modules, and with which image's `strip`.

The tool image (`scripts/build-strip-tool-image.sh`, built by `make services-up`) holds GNU strip
with its own loader and libraries; the `dependencies` stage copies it (`COPY --from`), so any
x86-64 base works and nothing of it reaches the model image. When the operator turned stripping
off (`MODELBAY_BUILDER_STRIP=0`) or the engine lacks the image, the build goes on unstripped and
says so in its log: a missing tool costs image size, never a build (docs/builder.md, "Lean
images").
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from docker.errors import DockerException

from modelbay_builder.build_log import BuildLog
from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.settings import BuilderSettings


class BaseImageStore(Protocol):
    """What the daemonless backend offers: copy an image from the engine into its own store."""

    def ensure_base(self, base_image: str, log: BuildLog) -> None: ...


async def strip_image_for_build(
    settings: BuilderSettings,
    connection: DockerConnection,
    buildah: BaseImageStore | None,
    log: BuildLog,
) -> str | None:
    """The strip tool image this build copies from, or None (unstripped, with the reason logged)."""
    if not settings.strip:
        log.line("extension modules not stripped: MODELBAY_BUILDER_STRIP is off")
        return None
    image = settings.strip_image
    try:
        await asyncio.to_thread(connection.client.api.inspect_image, image)
    except DockerException:
        log.line(
            f"extension modules not stripped: the engine has no {image} "
            "(scripts/build-strip-tool-image.sh builds it)"
        )
        return None
    if buildah is not None:
        await asyncio.to_thread(buildah.ensure_base, image, log)
    log.line(f"stripping extension modules with {image}")
    return image
