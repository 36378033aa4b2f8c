"""The image of one build: adopted from the registry when an earlier attempt of the same version
already pushed its tag, loaded or pulled and labelled for a pushed image (prebuilt_source.py), or
built from the bundle, its wheelhouse and system packages (docker engine or buildah).

`pipeline.BuildRunner` asks for it once per build (the "image" stage), then validates, pushes and
records it. Blocking Docker SDK calls run in threads (`asyncio.to_thread`); a failure is raised
as BuildStepFailed (→ ImageBuildFailed).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from docker.errors import DockerException
from modelbay_common.blob import BlobStore

from modelbay_builder.build_log import BuildLog
from modelbay_builder.buildah_build import BuildahBackend
from modelbay_builder.context import ContextInputs, write_context
from modelbay_builder.docker_build import build_image
from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.errors import BuildStepFailed
from modelbay_builder.inputs import BundleFiles, fetch_verified, unpack_debs, unpack_wheels
from modelbay_builder.labels import image_labels, load_openapi
from modelbay_builder.prebuilt import is_prebuilt
from modelbay_builder.prebuilt_source import load_prebuilt, prebuilt_base
from modelbay_builder.records import BuildRequest
from modelbay_builder.registry import (
    RegistryCredentials,
    image_reference,
    pull_image,
    registry_digest,
)
from modelbay_builder.runtime_wheel import RuntimeWheel
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.strip_tool import strip_image_for_build


@dataclass(frozen=True)
class MadeImage:
    image_id: str
    dependency_layer_cached: bool
    adopted_digest: str | None  # set when the registry already had the tag (earlier attempt)


def base_image_of(settings: BuilderSettings, request: BuildRequest) -> str:
    """The `FROM` registered for the bundle's Python (settings.python_base_images)."""
    image = settings.base_image_for(request.python_version)
    if image is None:
        served = ", ".join(settings.served_python_versions())
        raise BuildStepFailed(
            f"no base image is registered for Python {request.python_version} "
            f"(this platform serves Python {served})"
        )
    return image


def reference_of(settings: BuilderSettings, request: BuildRequest) -> str:
    """`registry/owner/name:version`, the tag the build's image gets and is pushed as."""
    return image_reference(settings.registry, request.owner, request.name, request.version)


class ImageMaker:
    """Makes the image of a build against one Docker engine (or buildah), registry and store."""

    def __init__(
        self,
        settings: BuilderSettings,
        docker_connection: DockerConnection,
        blobs: BlobStore,
        runtime_wheel: RuntimeWheel,
        credentials: RegistryCredentials,
        buildah: BuildahBackend | None,
    ) -> None:
        self._settings = settings
        self._connection = docker_connection
        self._blobs = blobs
        self._runtime_wheel = runtime_wheel
        self._credentials = credentials
        self._buildah = buildah

    async def make(
        self, work: Path, request: BuildRequest, bundle: BundleFiles, log: BuildLog
    ) -> MadeImage:
        existing = await asyncio.to_thread(
            registry_digest,
            self._settings.registry,
            request.owner,
            request.name,
            str(request.version),
            insecure=self._settings.registry_insecure,
            credentials=self._credentials,
        )
        reference = reference_of(self._settings, request)
        if existing:
            log.line(f"the registry already has {reference} ({existing}): reusing it")
            image_id = await asyncio.to_thread(self._pull, reference)
            return MadeImage(image_id, dependency_layer_cached=False, adopted_digest=existing)
        if is_prebuilt(bundle.manifest):  # nothing to build: load or pull, label (prebuilt.py)
            image_id = await asyncio.to_thread(
                load_prebuilt,
                self._connection.client,
                bundle.root,
                bundle.manifest,
                credentials=self._credentials,
                tag=reference,
                labels=await self._labels(request, bundle, prebuilt_base(bundle.manifest)),
                log=log,
                timeout=self._settings.docker_timeout_seconds,
            )
            return MadeImage(image_id, dependency_layer_cached=False, adopted_digest=None)
        context_tar = await self._write_context(work, request, bundle, log)
        base_image = base_image_of(self._settings, request)
        labels = await self._labels(request, bundle, base_image)
        log.line(f"building {reference} FROM {base_image}")
        if self._buildah is not None:
            built = await asyncio.to_thread(
                self._buildah.build,
                context_tar,
                base_image=base_image,
                tag=reference,
                labels=labels,
                log=log,
            )
        else:
            built = await asyncio.to_thread(
                build_image,
                self._connection.client,
                context_tar,
                tag=reference,
                labels=labels,
                log=log,
                timeout=self._settings.docker_timeout_seconds,
            )
        log.line(f"dependency layer from cache: {built.dependency_layer_cached}")
        return MadeImage(built.image_id, built.dependency_layer_cached, adopted_digest=None)

    async def _write_context(
        self, work: Path, request: BuildRequest, bundle: BundleFiles, log: BuildLog
    ) -> Path:
        log.line(f"fetching the wheelhouse {request.wheelhouse_uri}")
        wheelhouse_tar = work / "wheelhouse.tar"
        await fetch_verified(self._blobs, request.wheelhouse_uri, wheelhouse_tar)
        wheels = await asyncio.to_thread(unpack_wheels, wheelhouse_tar, work / "wheelhouse")
        debs: list[Path] = []
        if request.system_packages_uri:
            fetched = [p["name"] for p in request.system_packages if p.get("fetched", True)]
            log.line(f"fetching the system packages {request.system_packages_uri}: {fetched}")
            debs_tar = work / "system-packages.tar"
            await fetch_verified(self._blobs, request.system_packages_uri, debs_tar)
            debs = await asyncio.to_thread(unpack_debs, debs_tar, work / "system-packages")
        inputs = ContextInputs(
            base_image=base_image_of(self._settings, request),
            lock=request.lock,
            python_version=request.python_version,
            wheels=wheels,
            runtime_wheel=await self._runtime_wheel.path(),
            bundle_files=bundle.files,
            system_debs=debs,
            strip_image=await strip_image_for_build(
                self._settings, self._connection, self._buildah, log
            ),
        )
        context_tar = work / "context.tar"

        def write() -> None:
            with context_tar.open("wb") as out:
                write_context(inputs, out)

        await asyncio.to_thread(write)
        return context_tar

    def _pull(self, reference: str) -> str:
        try:
            return pull_image(self._connection.client, reference, self._credentials)
        except DockerException as exc:
            raise BuildStepFailed(f"pulling the existing {reference} failed: {exc}") from exc

    async def _labels(
        self, request: BuildRequest, bundle: BundleFiles, base: str
    ) -> dict[str, str]:
        return image_labels(
            owner=request.owner,
            name=request.name,
            version=request.version,
            lock_hash=request.lock_hash,
            base_image=base,
            bundle=bundle,
            openapi=await load_openapi(
                self._blobs, request.owner, request.name, request.version, bundle
            ),
        )
