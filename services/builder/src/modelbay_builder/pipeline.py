"""One build, start to finish: inputs → image (image_making.py) → validate → push → SBOM → sign.

Blocking Docker SDK calls run in threads (`asyncio.to_thread`), so several builds and the HTTP
API share one event loop. Failures are raised as BuildStepFailed (→ ImageBuildFailed) or
ImageValidationFailed (→ ValidationFailed); the worker turns them into events.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from docker.errors import DockerException
from modelbay_common.blob import BlobStore
from modelbay_common.tracing import span

from modelbay_builder.attestation import Attestation, BuildFacts, attest
from modelbay_builder.build_log import BuildLog
from modelbay_builder.buildah_build import BuildahBackend, BuildahConfig
from modelbay_builder.compare import Tolerance
from modelbay_builder.context import GRPC_PORT
from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.image_making import ImageMaker, base_image_of, reference_of
from modelbay_builder.inputs import (
    BundleFiles,
    fetch_bundle_archive,
    scratch_directory,
    unpack_bundle,
)
from modelbay_builder.prebuilt import is_prebuilt, pushed_image_packages, validator_for
from modelbay_builder.records import BuildRequest, BuildResult
from modelbay_builder.registry import (
    RegistryCredentials,
    image_repository,
    push_image,
)
from modelbay_builder.runtime_wheel import RuntimeWheel
from modelbay_builder.sbom import build_sbom, store_sbom
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.validation import ValidationLimits

StageCallback = Callable[[str], Awaitable[None]]


class BuildRunner:
    """Runs builds against one Docker engine, registry and blob store."""

    def __init__(
        self,
        settings: BuilderSettings,
        docker_connection: DockerConnection,
        blobs: BlobStore,
        runtime_wheel: RuntimeWheel,
    ) -> None:
        self._settings = settings
        self._connection = docker_connection
        self._blobs = blobs
        self._credentials = RegistryCredentials(
            settings.registry_tokens(), push_ttl_seconds=settings.docker_timeout_seconds + 60
        )
        # Generated on first start when SIGNING_KEY_DIR names an empty directory.
        self._signing_key = settings.signing_key()
        # The daemonless backend builds and pushes; the engine still validates (buildah_build.py).
        self._buildah = (
            BuildahBackend(_buildah_config(settings), self._credentials)
            if settings.backend == "buildah"
            else None
        )
        self._images = ImageMaker(
            settings, docker_connection, blobs, runtime_wheel, self._credentials, self._buildah
        )

    async def run(
        self, request: BuildRequest, log: BuildLog, on_stage: StageCallback
    ) -> BuildResult:
        async with scratch_directory(self._settings.work_dir, request) as work:
            return await self._run_in(work, request, log, on_stage)

    async def _run_in(
        self, work: Path, request: BuildRequest, log: BuildLog, on_stage: StageCallback
    ) -> BuildResult:
        # One span per stage of the push's trace (docs/operations.md, "Traces").
        with span("builder.fetch"):
            bundle = await self._fetch_bundle(work, request, log)
        started = time.monotonic()
        with span("builder.image") as image_span:
            image = await self._images.make(work, request, bundle, log)
            image_span.set_attribute(
                "modelbay.dependency_layer_cached", image.dependency_layer_cached
            )
        build_seconds = time.monotonic() - started

        await on_stage("validating")
        log.line("validating: starting the image with no network, read-only root")
        started = time.monotonic()
        with span("builder.validation"):
            report = await asyncio.to_thread(
                validator_for(bundle.manifest, bundle.root, self._base_image(request)),
                self._connection.client,
                image.image_id,
                bundle.manifest,
                self._limits(),
                label=request.subject,
            )
        validation_seconds = time.monotonic() - started
        log.line(f"validating: {report.samples_checked} sample(s) matched")

        await on_stage("pushing")
        started = time.monotonic()
        with span("builder.push"):
            digest = image.adopted_digest or await self._push(request, log)
        push_seconds = time.monotonic() - started
        size = await self._image_size(image.image_id)
        with span("builder.sbom"):
            sbom_uri = await self._store_sbom(
                request, digest, report.distributions, pushed_image_packages(report)
            )
        with span("builder.sign"):
            attestation = await self._attest(request, digest, image.image_id, sbom_uri, log)
        log.line(f"done: {self._reference(request)}@{digest} ({size} bytes)")
        return BuildResult(
            image_ref=self._reference(request),
            image_id=image.image_id,
            image_digest=digest,
            image_size=size,
            sbom_uri=sbom_uri,
            dependency_layer_cached=image.dependency_layer_cached,
            build_seconds=build_seconds,
            validation_seconds=validation_seconds,
            push_seconds=push_seconds,
            idle_memory_bytes=report.idle_memory_bytes,
            solution_nodes=solution_nodes(bundle.manifest),
            grpc_port=served_grpc_port(bundle.manifest),
            signing_seconds=attestation.seconds if attestation else None,
            provenance_key=attestation.provenance_key if attestation else None,
            provenance_sha256=attestation.provenance_sha256 if attestation else None,
        )

    async def _attest(
        self, request: BuildRequest, digest: str, image_id: str, sbom_key: str, log: BuildLog
    ) -> Attestation | None:
        """Sign the validated, pushed image and store its signed provenance (attestation.py)."""
        if self._signing_key is None:
            log.line("signing: skipped (no SIGNING_KEY_DIR configured)")
            return None
        facts = BuildFacts(
            registry=self._settings.registry,
            registry_insecure=self._settings.registry_insecure,
            digest=digest,
            base_image=self._base_image(request),
            base_image_id=await self._base_image_id(self._base_image(request)),
            sbom_key=sbom_key,
            builder_version=_builder_version(),
            started=datetime.now(UTC),
        )
        return await attest(self._signing_key, self._blobs, self._credentials, request, facts, log)

    def _base_image(self, request: BuildRequest) -> str:
        return base_image_of(self._settings, request)

    async def _base_image_id(self, base_image: str) -> str | None:
        try:
            attrs: dict[str, Any] = await asyncio.to_thread(
                self._connection.client.api.inspect_image, base_image
            )
        except DockerException:
            return None
        return str(attrs.get("Id") or "") or None

    async def _fetch_bundle(self, work: Path, request: BuildRequest, log: BuildLog) -> BundleFiles:
        archive = await fetch_bundle_archive(self._blobs, request, work, log)
        return await asyncio.to_thread(unpack_bundle, archive, work / "bundle")

    async def _push(self, request: BuildRequest, log: BuildLog) -> str:
        repository = image_repository(self._settings.registry, request.owner, request.name)
        log.line(f"pushing {repository}:{request.version}")
        if self._buildah is not None:
            return await asyncio.to_thread(self._buildah.push, self._reference(request), log)
        return await asyncio.to_thread(
            push_image,
            self._connection.client,
            repository,
            str(request.version),
            log,
            self._credentials,
        )

    async def _image_size(self, image_id: str) -> int:
        attrs: dict[str, Any] = await asyncio.to_thread(
            self._connection.client.api.inspect_image, image_id
        )
        return int(attrs.get("Size") or 0)

    async def _store_sbom(
        self,
        request: BuildRequest,
        digest: str,
        distributions: list[dict[str, str]],
        pushed_packages: Sequence[Mapping[str, Any]] = (),
    ) -> str:
        document = build_sbom(
            repository=image_repository(self._settings.registry, request.owner, request.name),
            version=request.version,
            digest=digest,
            distributions=distributions,
            system_packages=[*request.system_packages, *pushed_packages],
            created=datetime.now(UTC).replace(microsecond=0),
            tool_version=_builder_version(),
        )
        return await store_sbom(self._blobs, request.owner, request.name, request.version, document)

    def _limits(self) -> ValidationLimits:
        settings = self._settings
        return ValidationLimits(
            memory=settings.validation_memory_limit,
            cpus=settings.validation_cpus,
            ready_timeout=settings.validation_ready_timeout_seconds,
            sample_timeout=settings.validation_sample_timeout_seconds,
            tolerance=Tolerance(
                settings.float_relative_tolerance, settings.float_absolute_tolerance
            ),
        )

    def _reference(self, request: BuildRequest) -> str:
        return reference_of(self._settings, request)


def _buildah_config(settings: BuilderSettings) -> BuildahConfig:
    root = settings.buildah_root or settings.work_dir / "buildah" / "storage"
    return BuildahConfig(
        root=root,
        runroot=root.parent / "run",
        storage_driver=settings.buildah_storage_driver,
        isolation=settings.buildah_isolation,
        docker_host=settings.docker_host,
        registry_insecure=settings.registry_insecure,
        timeout_seconds=settings.buildah_timeout_seconds,
    )


def served_grpc_port(manifest: dict[str, Any]) -> int | None:
    """The gRPC port of a model image the runtime serves (`MODELBAY_RUNTIME_GRPC_PORT` in its
    Dockerfile); None for a pushed image (its own server) and a solution (the orchestrator)."""
    if is_prebuilt(manifest) or solution_nodes(manifest) is not None:
        return None
    return GRPC_PORT


def solution_nodes(manifest: dict[str, Any]) -> dict[str, str] | None:
    """A solution bundle's `{node id: owner/name:version}` (its manifest's `nodes`); None for a
    model. Deployment artifacts run these next to the solution's orchestrator."""
    if manifest.get("kind") != "solution":
        return None
    nodes = manifest.get("nodes")
    if not isinstance(nodes, dict):
        return None
    return {str(node_id): str(model) for node_id, model in nodes.items()}


def _builder_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("modelbay-builder")
    except PackageNotFoundError:
        return "unknown"
