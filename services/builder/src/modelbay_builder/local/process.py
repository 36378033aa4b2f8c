"""The local-process mode: serve a model from a venv instead of an image (no Docker engine).

Same inputs, same checks, same events as the Docker pipeline (`pipeline.py`), other packaging:

   fetch the bundle (SHA-256 checked) ─► venv of the lock (`local/env.py`; made from the
   wheelhouse with `pip install --no-index`, reused by every version with the same lock)
   ─► bundle into `<work>/models/<owner>/<name>/<version>/` ─► `python -m modelbay_runtime serve`
   as a child process on a free loopback port (`local/serving.py`) ─► `/readyz` ─► every sample
   over REST, compared like the Docker path (`compare.py`) ─► SBOM ─► ImageBuilt.

`ImageBuilt.image_ref` is `local-process://127.0.0.1:<port>/<owner>/<name>/<version>` (the
server answers at `http://127.0.0.1:<port>`), `image_digest` is `sha256:` over the lock hash and
the bundle's SHA-256 (what the server is made of), `image_size` the bytes of venv + runtime +
bundle, `dependency_layer_cached` whether the venv was reused. The server keeps running after
validation: it *is* the deployed model, until the builder stops.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from modelbay_common.blob import BlobStore

from modelbay_builder.build_log import BuildLog
from modelbay_builder.compare import Tolerance
from modelbay_builder.errors import ImageValidationFailed
from modelbay_builder.inputs import (
    BundleFiles,
    fetch_bundle_archive,
    fetch_verified,
    scratch_directory,
    unpack_bundle,
    unpack_wheels,
)
from modelbay_builder.local.env import LocalEnvironment, LocalEnvironments, tree_size
from modelbay_builder.local.env import list_distributions as list_environment_distributions
from modelbay_builder.local.refs import local_digest, local_process_ref, local_sbom
from modelbay_builder.local.serving import (
    HOST,
    ModelProcess,
    ModelProcesses,
    ServingRecord,
    check_samples,
    free_port,
    kill_leftover,
    port_is_free,
    restorable,
)
from modelbay_builder.records import BuildRequest, BuildResult
from modelbay_builder.runtime_wheel import RuntimeWheel
from modelbay_builder.sbom import store_sbom
from modelbay_builder.served import ServedModel, ServedModels
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.worker import StageCallback

log = logging.getLogger(__name__)

START_ATTEMPTS = 3  # another process may take the free port between the probe and the bind


class LocalProcessRunner:
    """Builds (venv + bundle), validates and serves model versions as child processes."""

    def __init__(
        self,
        settings: BuilderSettings,
        blobs: BlobStore,
        runtime_wheel: RuntimeWheel,
        *,
        base_python: str,
        served: ServedModels | None = None,
    ) -> None:
        self._settings = settings
        self._blobs = blobs
        self._runtime_wheel = runtime_wheel
        self.environments = LocalEnvironments(
            settings.work_dir, base_python, timeout=settings.local_install_timeout_seconds
        )
        self.processes = ModelProcesses(settings.work_dir / "models")
        self.served = served or ServedModels()
        self._restoring: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Restart the servers of versions validated before the builder last stopped."""
        if self._restoring is None:
            self._restoring = asyncio.create_task(self._restore_all(), name="local-restore")

    async def stop(self) -> None:
        if self._restoring is not None:
            self._restoring.cancel()
            await asyncio.gather(self._restoring, return_exceptions=True)
            self._restoring = None
        await self.processes.stop_all()

    async def run(
        self, request: BuildRequest, log: BuildLog, on_stage: StageCallback
    ) -> BuildResult:
        async with scratch_directory(self._settings.work_dir, request) as work:
            return await self._run_in(work, request, log, on_stage)

    async def _run_in(
        self, work: Path, request: BuildRequest, log: BuildLog, on_stage: StageCallback
    ) -> BuildResult:
        started = time.monotonic()
        archive = await fetch_bundle_archive(self._blobs, request, work, log)

        async def fetch_wheelhouse() -> Path:
            return await self._fetch_wheelhouse(work, request, log)

        environment = await self.environments.prepare(
            lock=request.lock,
            lock_hash=request.lock_hash,
            python_version=request.python_version,
            fetch_wheelhouse=fetch_wheelhouse,
            runtime_wheel=await self._runtime_wheel.path(),
            log=log,
        )
        bundle = await self._install_bundle(archive, request, log)
        build_seconds = time.monotonic() - started
        log.line(f"venv reused (dependency layer cached): {environment.reused}")

        await on_stage("validating")
        started = time.monotonic()
        process = await self._serve_and_validate(request, bundle, environment, log)
        validation_seconds = time.monotonic() - started

        digest = local_digest(request.lock_hash, request.bundle_sha256)
        record = self._remember(request, bundle, environment, process)
        image_ref = local_process_ref(process.port, request.owner, request.name, request.version)
        size = await asyncio.to_thread(
            tree_size, environment.venv, environment.runtime, bundle.root
        )
        sbom_uri = await self._store_sbom(request, digest, environment)
        log.line(f"done: {request.subject} is served at {process.url} ({image_ref})")
        self._announce(record)
        return BuildResult(
            image_ref=image_ref,
            image_id=digest,
            image_digest=digest,
            image_size=size,
            sbom_uri=sbom_uri,
            dependency_layer_cached=environment.reused,
            build_seconds=build_seconds,
            validation_seconds=validation_seconds,
            push_seconds=0.0,
        )

    async def _fetch_wheelhouse(self, work: Path, request: BuildRequest, log: BuildLog) -> Path:
        log.line(f"fetching the wheelhouse {request.wheelhouse_uri}")
        wheelhouse_tar = work / "wheelhouse.tar"
        await fetch_verified(self._blobs, request.wheelhouse_uri, wheelhouse_tar)
        wheels = await asyncio.to_thread(unpack_wheels, wheelhouse_tar, work / "wheelhouse")
        # pip's --find-links does not look into subdirectories: put every wheel side by side.
        flat = work / "wheels"
        flat.mkdir()
        for wheel in wheels:
            wheel.rename(flat / wheel.name)
        return flat

    async def _install_bundle(
        self, archive: Path, request: BuildRequest, log: BuildLog
    ) -> BundleFiles:
        """Unpack next to the final directory, then swap it in (a server of an earlier attempt
        of this version is stopped first: it may hold files of the directory replaced)."""
        target = self.processes.bundle_dir(request.owner, request.name, request.version)
        await self.processes.stop(request.subject)
        staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
        unpacked = await asyncio.to_thread(unpack_bundle, archive, staging)
        await asyncio.to_thread(shutil.rmtree, target, True)
        staging.rename(target)
        log.line(f"bundle unpacked into {target}")
        return BundleFiles(
            root=target,
            files=tuple((name, target / name) for name, _ in unpacked.files),
            manifest=unpacked.manifest,
            proto_text=unpacked.proto_text,
            schemas=unpacked.schemas,
        )

    async def _serve_and_validate(
        self,
        request: BuildRequest,
        bundle: BundleFiles,
        environment: LocalEnvironment,
        log: BuildLog,
    ) -> ModelProcess:
        """Start the server; stop it again unless every sample matched."""
        try:
            process = await self._start_server(request.subject, bundle.root, environment, log)
            checked = await check_samples(
                process,
                bundle.manifest,
                self._tolerance(),
                self._settings.validation_sample_timeout_seconds,
            )
        except BaseException:
            await self.processes.stop(request.subject)
            await asyncio.to_thread(shutil.rmtree, bundle.root, True)
            raise
        log.line(f"validating: {checked} sample(s) matched")
        return process

    async def _start_server(
        self,
        subject: str,
        bundle_dir: Path,
        environment: LocalEnvironment,
        log: BuildLog,
        port: int | None = None,
    ) -> ModelProcess:
        timeout = self._settings.validation_ready_timeout_seconds
        for attempt in range(1, START_ATTEMPTS + 1):
            chosen = port if port is not None and attempt == 1 else free_port()
            log.line(f"starting the model server on {HOST}:{chosen}")
            process = await self.processes.start(subject, bundle_dir, environment, chosen)
            try:
                await self.processes.wait_until_ready(process, timeout)
                return process
            except ImageValidationFailed as failure:
                lost_port = "address already in use" in failure.log_tail.lower()
                if not lost_port or attempt == START_ATTEMPTS:
                    raise
                log.line(f"port {chosen} was taken meanwhile; trying another one")
        raise AssertionError("unreachable")

    def _remember(
        self,
        request: BuildRequest,
        bundle: BundleFiles,
        environment: LocalEnvironment,
        process: ModelProcess,
    ) -> ServingRecord:
        record = ServingRecord(
            owner=request.owner,
            name=request.name,
            version=request.version,
            bundle_dir=str(bundle.root),
            venv=str(environment.venv),
            runtime=str(environment.runtime),
            port=process.port,
            pid=process.process.pid,
        )
        self.processes.save_record(record)
        return record

    async def _store_sbom(
        self, request: BuildRequest, digest: str, environment: LocalEnvironment
    ) -> str:
        distributions = await list_environment_distributions(environment)
        document = local_sbom(
            request, digest, distributions, datetime.now(UTC).replace(microsecond=0)
        )
        return await store_sbom(self._blobs, request.owner, request.name, request.version, document)

    async def _restore_all(self) -> None:
        for record in self.processes.records():
            try:
                await self._restore(record)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("could not restart the model server of %s: %s", record.subject, exc)

    async def _restore(self, record: ServingRecord) -> None:
        await asyncio.to_thread(kill_leftover, record)
        environment = restorable(record)
        if environment is None:
            log.warning("%s cannot be served again: its venv or bundle is gone", record.subject)
            return
        port = record.port if port_is_free(record.port) else None
        process = await self._start_server(
            record.subject, Path(record.bundle_dir), environment, BuildLog(), port
        )
        if process.port != record.port:
            log.warning(
                "%s was served on port %d, which is taken now: it answers at %s instead",
                record.subject,
                record.port,
                process.url,
            )
        restored = replace(record, port=process.port, pid=process.process.pid)
        self.processes.save_record(restored)
        self._announce(restored)

    def _announce(self, record: ServingRecord) -> None:
        model = ServedModel(record.owner, record.name, record.version, record.url)
        self.served.announce(model)

    def _tolerance(self) -> Tolerance:
        return Tolerance(
            self._settings.float_relative_tolerance, self._settings.float_absolute_tolerance
        )
