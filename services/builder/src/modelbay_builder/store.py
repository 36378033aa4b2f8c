"""Every query of the builder. Stores flush; the entrypoint commits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_builder.claimant import Claimant, RecordedClaim
from modelbay_builder.orm import BuildRow
from modelbay_builder.records import (
    ACTIVE_STATUSES,
    BuildRequest,
    BuildResult,
    BuildStatus,
    BuildView,
    ClaimedBuild,
    FailureKind,
)


def _now() -> datetime:
    return datetime.now(UTC)


class BuildStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(self, request: BuildRequest) -> bool:
        """Queue a build of the version; False when one exists (idempotent per version)."""
        inserted = await self._session.scalar(
            insert(BuildRow)
            .values(
                id=uuid.uuid4(),
                owner=request.owner,
                name=request.name,
                version=request.version,
                request=request.to_json(),
                lock_hash=request.lock_hash,
                status=BuildStatus.QUEUED.value,
            )
            .on_conflict_do_nothing(constraint="builds_version_key")
            .returning(BuildRow.id)
        )
        return inserted is not None

    async def claim_next(
        self,
        worker_id: str,
        stale_after: timedelta,
        claimant: Claimant | None = None,
        *,
        running_here: Sequence[str] = (),
    ) -> ClaimedBuild | None:
        """Take the oldest queued build, or one whose worker stopped heart-beating.

        `FOR UPDATE SKIP LOCKED`: replicas claiming at the same time never get the same row.
        `running_here` are the builds this worker is running: never taken over by itself, even
        when their heartbeat lagged (a database outage longer than `stale_after`).
        """
        stale_before = _now() - stale_after
        stale = and_(
            BuildRow.status.in_([status.value for status in ACTIVE_STATUSES]),
            BuildRow.heartbeat_at < stale_before,
        )
        if running_here:
            stale = and_(stale, BuildRow.id.not_in([uuid.UUID(i) for i in running_here]))
        candidate = (
            select(BuildRow.id)
            .where(or_(BuildRow.status == BuildStatus.QUEUED.value, stale))
            .order_by(BuildRow.queued_at)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        row = (
            await self._session.execute(
                update(BuildRow)
                .where(BuildRow.id == candidate)
                .values(
                    status=BuildStatus.BUILDING.value,
                    worker_id=worker_id,
                    claimant_host=None if claimant is None else claimant.host,
                    claimant_pid=None if claimant is None else claimant.pid,
                    claimant_pid_namespace=None if claimant is None else claimant.pid_namespace,
                    heartbeat_at=_now(),
                    started_at=_now(),
                    attempts=BuildRow.attempts + 1,
                )
                .returning(BuildRow.id, BuildRow.request, BuildRow.attempts)
            )
        ).one_or_none()
        if row is None:
            return None
        return ClaimedBuild(str(row.id), BuildRequest.from_json(row.request), row.attempts)

    async def claims_in_pid_namespace(self, pid_namespace: str) -> list[RecordedClaim]:
        """Running builds claimed by processes of this pid namespace (see claimant.py)."""
        rows = await self._session.execute(
            select(
                BuildRow.id,
                BuildRow.owner,
                BuildRow.name,
                BuildRow.version,
                BuildRow.worker_id,
                BuildRow.claimant_pid,
            ).where(
                BuildRow.status.in_([status.value for status in ACTIVE_STATUSES]),
                BuildRow.claimant_pid_namespace == pid_namespace,
                BuildRow.worker_id.is_not(None),
                BuildRow.claimant_pid.is_not(None),
            )
        )
        return [
            RecordedClaim(str(row.id), f"{row.owner}/{row.name}/{row.version}", row.worker_id, pid)
            for row in rows
            if row.worker_id is not None and (pid := row.claimant_pid) is not None
        ]

    async def requeue_claim(self, build_id: str, worker_id: str) -> bool:
        """Queue a running build again if `worker_id` still holds it (its process is gone)."""
        requeued = await self._session.scalar(
            update(BuildRow)
            .where(
                BuildRow.id == uuid.UUID(build_id),
                BuildRow.worker_id == worker_id,
                BuildRow.status.in_([status.value for status in ACTIVE_STATUSES]),
            )
            .values(status=BuildStatus.QUEUED.value, worker_id=None, heartbeat_at=None)
            .returning(BuildRow.id)
        )
        return requeued is not None

    async def heartbeat(self, build_id: str, worker_id: str, log_tail: str) -> None:
        """Prove this worker still runs the build; the log tail shows progress to the API."""
        await self._session.execute(
            update(BuildRow)
            .where(BuildRow.id == uuid.UUID(build_id), BuildRow.worker_id == worker_id)
            .values(heartbeat_at=_now(), log_tail=log_tail)
        )

    async def set_stage(
        self, build_id: str, worker_id: str, status: BuildStatus, log_tail: str
    ) -> None:
        await self._session.execute(
            update(BuildRow)
            .where(BuildRow.id == uuid.UUID(build_id), BuildRow.worker_id == worker_id)
            .values(status=status.value, log_tail=log_tail, heartbeat_at=_now())
        )

    async def release(self, build_id: str, worker_id: str) -> None:
        """Give a claimed build back to the queue (this process is stopping)."""
        await self._session.execute(
            update(BuildRow)
            .where(BuildRow.id == uuid.UUID(build_id), BuildRow.worker_id == worker_id)
            .values(status=BuildStatus.QUEUED.value, worker_id=None, heartbeat_at=None)
        )

    async def record_success(self, build_id: str, result: BuildResult, log_tail: str) -> None:
        await self._session.execute(
            update(BuildRow)
            .where(BuildRow.id == uuid.UUID(build_id))
            .values(
                status=BuildStatus.SUCCEEDED.value,
                failure_kind=None,
                reason=None,
                log_tail=log_tail,
                image_ref=result.image_ref,
                image_id=result.image_id,
                image_digest=result.image_digest,
                image_size=result.image_size,
                sbom_uri=result.sbom_uri,
                dependency_layer_cached=result.dependency_layer_cached,
                build_seconds=result.build_seconds,
                validation_seconds=result.validation_seconds,
                push_seconds=result.push_seconds,
                idle_memory_bytes=result.idle_memory_bytes,
                solution_nodes=result.solution_nodes,
                grpc_port=result.grpc_port,
                worker_id=None,
                finished_at=_now(),
            )
        )

    async def record_failure(
        self, build_id: str, kind: FailureKind, reason: str, log_tail: str
    ) -> None:
        await self._session.execute(
            update(BuildRow)
            .where(BuildRow.id == uuid.UUID(build_id))
            .values(
                status=BuildStatus.FAILED.value,
                failure_kind=kind.value,
                reason=reason,
                log_tail=log_tail,
                worker_id=None,
                finished_at=_now(),
            )
        )

    async def find(self, owner: str, name: str, version: int) -> BuildView | None:
        row = await self._session.scalar(
            select(BuildRow).where(
                BuildRow.owner == owner, BuildRow.name == name, BuildRow.version == version
            )
        )
        return None if row is None else _view(row)


def _view(row: BuildRow) -> BuildView:
    return BuildView(
        owner=row.owner,
        name=row.name,
        version=row.version,
        status=BuildStatus(row.status),
        failure_kind=row.failure_kind,
        reason=row.reason,
        log_tail=row.log_tail,
        lock_hash=row.lock_hash,
        image_ref=row.image_ref,
        image_id=row.image_id,
        image_digest=row.image_digest,
        image_size=row.image_size,
        sbom_uri=row.sbom_uri,
        dependency_layer_cached=row.dependency_layer_cached,
        build_seconds=row.build_seconds,
        validation_seconds=row.validation_seconds,
        push_seconds=row.push_seconds,
        attempts=row.attempts,
        idle_memory_bytes=row.idle_memory_bytes,
        solution_nodes=row.solution_nodes,
        grpc_port=row.grpc_port,
        queued_at=row.queued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )
