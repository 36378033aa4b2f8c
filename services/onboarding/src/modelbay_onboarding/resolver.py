"""Use case: resolve a model's dependencies into a lock and a shared wheelhouse.

On `ModelUploaded`: the bundle's requirements plus the model server's own are locked for the
image target (linux x86_64 manylinux, the bundle's Python) by `pip download`; the wheels are
packed into `wheelhouses/<lock_hash>.tar`, stored once and shared by every model with that
lock. A cache (`requirement_locks`) maps the requirements to their lock, so a second model with
the same requirements skips pip entirely. The outcome is `DependenciesResolved` or
`DependencyResolutionFailed` with a reason a contributor can act on.

`Resolver.handle` runs the three steps of one `ModelUploaded`:

1. in a first transaction, skip an event the consumer already handled (`inbox.was_handled`),
   look up the lock cache and announce `DependencyResolutionStarted` (committed at once, so the
   catalog shows `resolving` while pip runs);
2. outside any transaction, the slow part (`resolve`);
3. through the inbox (`idempotent`), `record` writes the cache, the outcome and the event, so a
   redelivered event emits nothing twice. A redelivery that races a committed outcome
   re-resolves from the cache (cheap) and is dropped by the inbox.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from modelbay_common.blob import BlobInfo, BlobNotFoundError, BlobStore
from modelbay_common.blob.keys import wheelhouse_key
from modelbay_common.db import SessionFactory, transaction
from modelbay_common.events import (
    DependenciesResolved,
    DependencyResolutionFailed,
    DependencyResolutionStarted,
    Envelope,
    ModelUploaded,
)
from modelbay_common.inbox import idempotent, was_handled
from modelbay_common.scratch import owned_prefix
from modelbay_common.tracing import span
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_onboarding.debris import RESOLVE_BASE
from modelbay_onboarding.errors import ResolutionError
from modelbay_onboarding.onboarding_metrics import observe_resolution
from modelbay_onboarding.orm import SCHEMA
from modelbay_onboarding.pip_runner import PipOptions, download_wheels, runtime_server_requirements
from modelbay_onboarding.service import emit
from modelbay_onboarding.settings import OnboardingSettings
from modelbay_onboarding.store import (
    CachedLock,
    OnboardingStore,
    ResolutionOutcome,
    StoredWheelhouse,
)
from modelbay_onboarding.system_libraries.stage import SystemLibraryStage, SystemPackages
from modelbay_onboarding.wheelhouse import (
    PLATFORM,
    lock_from_wheels,
    lock_hash,
    requirements_hash,
    write_wheelhouse,
)

log = logging.getLogger(__name__)

PYPI = "https://pypi.org/simple"


@dataclass(frozen=True)
class ResolutionInputs:
    requirements: tuple[str, ...]  # the bundle's and the model server's, sorted
    python_version: str  # major.minor
    requirements_hash: str


@dataclass(frozen=True)
class Resolved:
    inputs: ResolutionInputs
    lock: tuple[str, ...]
    lock_hash: str
    wheelhouse: StoredWheelhouse
    reused: bool
    system: SystemPackages = field(default_factory=SystemPackages)


@dataclass(frozen=True)
class Failed:
    inputs: ResolutionInputs
    reason: str
    detail: str


Outcome = Resolved | Failed


class Resolver:
    def __init__(self, settings: OnboardingSettings, blob_store: BlobStore) -> None:
        self._blobs = blob_store
        self._index_url = settings.pip_index_url or PYPI
        self._pip = PipOptions(
            index_url=settings.pip_index_url,
            cert=settings.pip_cert,
            cache_dir=settings.pip_cache_dir,
            timeout_seconds=settings.pip_timeout_seconds,
        )
        self._slots = asyncio.Semaphore(settings.max_concurrent_resolutions)
        self._system = SystemLibraryStage(settings, blob_store)

    async def handle(self, envelope: Envelope, *, consumer: str, sessions: SessionFactory) -> None:
        """The three steps of one `ModelUploaded` for `consumer` (see the module docstring)."""
        event = envelope.event_as(ModelUploaded)
        async with transaction(sessions) as session:
            if await was_handled(session, consumer, envelope.id, schema=SCHEMA):
                return
            cached = await self.cached_lock(session, event)
            await self.announce_start(session, event)
        started = time.monotonic()
        with span("onboarding.resolve", **{"modelbay.lock_cached": cached is not None}):
            outcome = await self.resolve(event, cached)
        reused = isinstance(outcome, Resolved) and outcome.reused
        resolved = "resolved" if isinstance(outcome, Resolved) else "failed"
        observe_resolution(resolved, reused, time.monotonic() - started)

        async def record(session: AsyncSession, _: Envelope) -> None:
            await self.record(session, event, outcome)

        await idempotent(consumer, record, sessions=sessions, schema=SCHEMA)(envelope)

    def inputs_for(self, event: ModelUploaded) -> ResolutionInputs:
        python_version = ".".join(event.python_version.split(".")[:2])
        requirements = tuple(
            sorted({*event.requirements, *runtime_server_requirements(python_version)})
        )
        key = requirements_hash(requirements, python_version, self._index_url)
        return ResolutionInputs(requirements, python_version, key)

    async def cached_lock(self, session: AsyncSession, event: ModelUploaded) -> CachedLock | None:
        return await OnboardingStore(session).find_lock(self.inputs_for(event).requirements_hash)

    async def announce_start(self, session: AsyncSession, event: ModelUploaded) -> None:
        """`DependencyResolutionStarted`: the catalog shows the version as `resolving`.

        Committed before the slow part, so the status moves while pip runs. A redelivery may
        announce it twice; the catalog's status only moves forward, so that is harmless.
        """
        started = DependencyResolutionStarted(
            owner=event.owner, name=event.name, version=event.version
        )
        await emit(session, started)

    async def resolve(self, event: ModelUploaded, cached: CachedLock | None) -> Outcome:
        """Lock and download (or reuse), then the system packages the wheels need (ELF scan,
        system_libraries/); never raises for the contributor's mistakes."""
        inputs = self.inputs_for(event)
        async with self._slots:
            workdir = Path(
                await asyncio.to_thread(tempfile.mkdtemp, prefix=owned_prefix(RESOLVE_BASE))
            )
            try:
                resolved = await self._reuse(event.subject, inputs, cached)
                wheels = None
                if resolved is None:
                    resolved, wheels = await self._download_and_store(
                        event.subject, inputs, workdir
                    )
                system = await self._system.resolve(
                    lock_hash=resolved.lock_hash,
                    wheels=wheels,
                    workdir=workdir,
                    declared=event.system_packages,
                    python_version=inputs.python_version,
                )
                return replace(resolved, system=system)
            except ResolutionError as exc:
                log.info("%s: dependency resolution failed: %s", event.subject, exc.reason)
                return Failed(inputs, exc.reason, exc.detail)
            finally:
                await asyncio.to_thread(shutil.rmtree, workdir, True)

    async def _reuse(
        self, subject: str, inputs: ResolutionInputs, cached: CachedLock | None
    ) -> Resolved | None:
        if cached is None:
            return None
        stored = await self._stored_wheelhouse(cached.lock_hash, len(cached.lock))
        if stored is None:
            return None
        log.info("%s: lock cache hit, wheelhouse %s reused", subject, stored.blob_key)
        return Resolved(inputs, cached.lock, cached.lock_hash, stored, reused=True)

    async def _download_and_store(
        self, subject: str, inputs: ResolutionInputs, workdir: Path
    ) -> tuple[Resolved, Path]:
        """pip download into `workdir`; returns the outcome and the wheels' directory."""
        wheels = workdir / "wheels"
        wheels.mkdir()
        log.info("%s: pip download %s", subject, " ".join(inputs.requirements))
        await download_wheels(inputs.requirements, inputs.python_version, wheels, self._pip)
        lock = lock_from_wheels(wheels)
        hash_of_lock = lock_hash(lock, inputs.python_version)
        stored = await self._stored_wheelhouse(hash_of_lock, len(lock))
        if stored is not None:
            return Resolved(inputs, lock, hash_of_lock, stored, reused=True), wheels
        archive = workdir / "wheelhouse.tar"
        await asyncio.to_thread(write_wheelhouse, wheels, lock, inputs.python_version, archive)
        key = wheelhouse_key(hash_of_lock)
        info = await self._blobs.put_path(key, archive, content_type="application/x-tar")
        log.info(
            "%s: stored wheelhouse %s (%d wheels, %d bytes)", subject, key, len(lock), info.size
        )
        wheelhouse = StoredWheelhouse(hash_of_lock, key, info.size, info.sha256, len(lock))
        return Resolved(inputs, lock, hash_of_lock, wheelhouse, reused=False), wheels

    async def _stored_wheelhouse(self, hash_of_lock: str, wheels: int) -> StoredWheelhouse | None:
        key = wheelhouse_key(hash_of_lock)
        try:
            info: BlobInfo = await self._blobs.stat(key)
        except BlobNotFoundError:
            return None
        return StoredWheelhouse(hash_of_lock, key, info.size, info.sha256, wheels)

    async def record(self, session: AsyncSession, event: ModelUploaded, outcome: Outcome) -> None:
        """Remember the lock, record the outcome and emit its event, in the caller's transaction."""
        if isinstance(outcome, Resolved):
            await self._record_resolved(session, event, outcome)
        else:
            await self._record_failed(session, event, outcome)

    async def _record_resolved(
        self, session: AsyncSession, event: ModelUploaded, outcome: Resolved
    ) -> None:
        inputs = outcome.inputs
        cached = CachedLock(inputs.requirements_hash, outcome.lock, outcome.lock_hash)
        store = OnboardingStore(session)
        await store.save_lock(
            cached,
            python_version=inputs.python_version,
            platform=PLATFORM,
            requirements=inputs.requirements,
        )
        await store.save_wheelhouse(outcome.wheelhouse)
        await store.record_resolution(
            ResolutionOutcome(
                event.owner,
                event.name,
                event.version,
                status="resolved",
                lock_hash=outcome.lock_hash,
                wheelhouse_reused=outcome.reused,
                # The `.deb` archive this version's image needs: the garbage collector's mark.
                details={"system_packages_uri": outcome.system.uri},
            ),
        )
        resolved = DependenciesResolved(
            owner=event.owner,
            name=event.name,
            version=event.version,
            bundle_uri=event.bundle_uri,
            bundle_sha256=event.bundle_sha256,
            python_version=inputs.python_version,
            lock=outcome.lock,
            lock_hash=outcome.lock_hash,
            wheelhouse_uri=outcome.wheelhouse.blob_key,
            wheelhouse_reused=outcome.reused,
            system_packages=outcome.system.packages,
            system_packages_uri=outcome.system.uri,
        )
        await emit(session, resolved)

    async def _record_failed(
        self, session: AsyncSession, event: ModelUploaded, outcome: Failed
    ) -> None:
        await OnboardingStore(session).record_resolution(
            ResolutionOutcome(
                event.owner,
                event.name,
                event.version,
                status="failed",
                reason=outcome.reason,
                details={
                    "pip_output": outcome.detail,
                    "requirements": list(outcome.inputs.requirements),
                },
            ),
        )
        failed = DependencyResolutionFailed(
            owner=event.owner,
            name=event.name,
            version=event.version,
            reason=outcome.reason,
            detail=outcome.detail,
        )
        await emit(session, failed)
