"""Queries of federation: peers, the changes feed, mirrored models and versions.

The only module of `federation/` that touches the ORM. It flushes, never commits: the entrypoint
(request dependency, inbox wrapper or the sync loop's transaction) owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.federation.orm import (
    ChangeRow,
    MirroredModelRow,
    MirroredVersionRow,
    PeerRow,
)
from modelbay_catalog.federation.records import (
    ChangeRecord,
    MirroredModelRecord,
    MirroredVersionRecord,
    PeerKeyRecord,
    PeerRecord,
)
from modelbay_catalog.federation.rules import ChangeAction, MirrorState, Subscription
from modelbay_catalog.orm import ModelRow


def _peer(row: PeerRow) -> PeerRecord:
    return PeerRecord(
        id=row.id,
        name=row.name,
        url=row.url,
        token=row.token,
        subscription=Subscription(
            all=row.subscribe_all,
            owners=tuple(row.owners),
            categories=tuple(row.categories),
            tags=tuple(row.tags),
        ),
        keys=tuple(PeerKeyRecord(str(k["key_id"]), str(k["pem"])) for k in row.public_keys),
        keys_fetched_at=row.keys_fetched_at,
        cursor=row.cursor,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        next_attempt_at=row.next_attempt_at,
        consecutive_failures=row.consecutive_failures,
        created_by=row.created_by,
        created_at=row.created_at,
    )


def _mirrored_version(row: MirroredVersionRow) -> MirroredVersionRecord:
    return MirroredVersionRecord(
        id=row.id,
        model_id=row.model_id,
        version=row.version,
        state=MirrorState(row.state),
        reason=row.reason,
        detail=row.detail,
        retryable=row.retryable,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        request=dict(row.request),
        verified_key_id=row.verified_key_id,
    )


def _keys(keys: Sequence[PeerKeyRecord]) -> list[dict[str, str]]:
    return [{"key_id": key.key_id, "pem": key.pem} for key in keys]


class FederationStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        return self._session

    # -- peers -------------------------------------------------------------------------------

    async def add_peer(
        self,
        name: str,
        url: str,
        token: str,
        subscription: Subscription,
        keys: Sequence[PeerKeyRecord],
        created_by: str,
    ) -> PeerRecord:
        row = PeerRow(
            name=name,
            url=url,
            token=token,
            subscribe_all=subscription.all,
            owners=list(subscription.owners),
            categories=list(subscription.categories),
            tags=list(subscription.tags),
            public_keys=_keys(keys),
            keys_fetched_at=datetime.now(UTC),
            created_by=created_by,
        )
        self._session.add(row)
        await self._session.flush()
        await self._session.refresh(row)
        return _peer(row)

    async def find_peer(self, name: str, *, lock: bool = False) -> PeerRecord | None:
        statement = select(PeerRow).where(PeerRow.name == name)
        if lock:
            statement = statement.with_for_update()
        row = await self._session.scalar(statement)
        return None if row is None else _peer(row)

    async def list_peers(self) -> list[PeerRecord]:
        rows = await self._session.scalars(select(PeerRow).order_by(PeerRow.name))
        return [_peer(row) for row in rows]

    async def claim_due_peer(self, now: datetime) -> PeerRecord | None:
        """A peer whose next attempt is due, locked; another replica's sync skips it."""
        statement = (
            select(PeerRow)
            .where(PeerRow.next_attempt_at <= now)
            .order_by(PeerRow.next_attempt_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        row = await self._session.scalar(statement)
        return None if row is None else _peer(row)

    async def update_peer(self, peer_id: int, **values: Any) -> None:
        if "subscription" in values:
            subscription: Subscription = values.pop("subscription")
            values.update(
                subscribe_all=subscription.all,
                owners=list(subscription.owners),
                categories=list(subscription.categories),
                tags=list(subscription.tags),
            )
        if "keys" in values:
            values["public_keys"] = _keys(values.pop("keys"))
            values["keys_fetched_at"] = datetime.now(UTC)
        statement = (
            update(PeerRow)
            .where(PeerRow.id == peer_id)
            .values(**values, updated_at=func.now())
            .execution_options(synchronize_session=False)
        )
        await self._session.execute(statement)

    async def delete_peer(self, peer_id: int) -> None:
        await self._session.execute(delete(PeerRow).where(PeerRow.id == peer_id))

    async def mirror_counts(self, peer_id: int) -> dict[str, int]:
        statement = (
            select(MirroredVersionRow.state, func.count())
            .join(MirroredModelRow, MirroredModelRow.model_id == MirroredVersionRow.model_id)
            .where(MirroredModelRow.peer_id == peer_id)
            .group_by(MirroredVersionRow.state)
        )
        return {str(state): int(count) for state, count in await self._session.execute(statement)}

    async def last_mirror_failure(self, peer_id: int) -> str | None:
        statement = (
            select(MirroredVersionRow.reason)
            .join(MirroredModelRow, MirroredModelRow.model_id == MirroredVersionRow.model_id)
            .where(
                MirroredModelRow.peer_id == peer_id,
                MirroredVersionRow.state == MirrorState.FAILED.value,
            )
            .order_by(MirroredVersionRow.updated_at.desc())
            .limit(1)
        )
        found = await self._session.scalar(statement)
        return None if found is None else str(found)

    # -- the changes feed (this instance as an origin) --------------------------------------

    async def append_change(
        self, model_id: int, owner: str, name: str, version: int | None, action: ChangeAction
    ) -> None:
        self._session.add(
            ChangeRow(
                model_id=model_id, owner=owner, name=name, version=version, action=action.value
            )
        )
        await self._session.flush()

    async def changes_after(self, seq: int, limit: int) -> list[ChangeRecord]:
        statement = (
            select(ChangeRow).where(ChangeRow.seq > seq).order_by(ChangeRow.seq).limit(limit)
        )
        return [
            ChangeRecord(
                seq=row.seq,
                model_id=row.model_id,
                owner=row.owner,
                name=row.name,
                version=row.version,
                action=ChangeAction(row.action),
            )
            for row in await self._session.scalars(statement)
        ]

    async def model_coordinates(self, model_id: int) -> tuple[str, str] | None:
        found = (
            await self._session.execute(
                select(ModelRow.owner, ModelRow.name).where(ModelRow.id == model_id)
            )
        ).first()
        return None if found is None else (str(found[0]), str(found[1]))

    async def hide_model(self, model_id: int) -> None:
        """Make a withdrawn mirror private: hidden from search and detail (an administrator
        still sees it, with its origin saying it was withdrawn)."""
        await self._session.execute(
            update(ModelRow)
            .where(ModelRow.id == model_id)
            .values(visibility="private", updated_at=func.now())
        )

    # -- mirrored models and versions (this instance as a mirror) ---------------------------

    async def _mirrored_models(self, *conditions: Any) -> list[MirroredModelRecord]:
        statement = (
            select(MirroredModelRow, PeerRow.name, PeerRow.url)
            .join(PeerRow, PeerRow.id == MirroredModelRow.peer_id)
            .where(*conditions)
        )
        return [
            MirroredModelRecord(
                model_id=row.model_id,
                peer_id=row.peer_id,
                peer=peer,
                peer_url=url,
                origin_owner=row.origin_owner,
                origin_name=row.origin_name,
                withdrawn_at=row.withdrawn_at,
            )
            for row, peer, url in await self._session.execute(statement)
        ]

    async def mirrored_model(self, model_id: int) -> MirroredModelRecord | None:
        found = await self._mirrored_models(MirroredModelRow.model_id == model_id)
        return found[0] if found else None

    async def mirror_of(
        self, peer_id: int, origin_owner: str, origin_name: str
    ) -> MirroredModelRecord | None:
        found = await self._mirrored_models(
            MirroredModelRow.peer_id == peer_id,
            MirroredModelRow.origin_owner == origin_owner,
            MirroredModelRow.origin_name == origin_name,
        )
        return found[0] if found else None

    async def add_mirrored_model(
        self, model_id: int, peer_id: int, origin_owner: str, origin_name: str
    ) -> None:
        self._session.add(
            MirroredModelRow(
                model_id=model_id,
                peer_id=peer_id,
                origin_owner=origin_owner,
                origin_name=origin_name,
            )
        )
        await self._session.flush()

    async def set_withdrawn(self, model_id: int, withdrawn: bool) -> None:
        await self._session.execute(
            update(MirroredModelRow)
            .where(MirroredModelRow.model_id == model_id)
            .values(withdrawn_at=func.now() if withdrawn else None)
        )
        if withdrawn:
            await self._session.execute(
                update(MirroredVersionRow)
                .where(MirroredVersionRow.model_id == model_id)
                .values(state=MirrorState.WITHDRAWN.value, updated_at=func.now())
            )

    async def mirrored_version(
        self, model_id: int, version: int, *, lock: bool = False
    ) -> MirroredVersionRecord | None:
        statement = select(MirroredVersionRow).where(
            MirroredVersionRow.model_id == model_id, MirroredVersionRow.version == version
        )
        if lock:
            statement = statement.with_for_update()
        row = await self._session.scalar(statement)
        return None if row is None else _mirrored_version(row)

    async def mirrored_versions(self, model_id: int) -> list[MirroredVersionRecord]:
        statement = (
            select(MirroredVersionRow)
            .where(MirroredVersionRow.model_id == model_id)
            .order_by(MirroredVersionRow.version)
        )
        return [_mirrored_version(row) for row in await self._session.scalars(statement)]

    async def request_mirror(self, model_id: int, version: int, request: dict[str, Any]) -> None:
        """Record a version as requested (new, or asked again after a failure/withdrawal)."""
        existing = await self.mirrored_version(model_id, version, lock=True)
        if existing is None:
            self._session.add(
                MirroredVersionRow(
                    model_id=model_id,
                    version=version,
                    state=MirrorState.REQUESTED.value,
                    request=request,
                )
            )
            await self._session.flush()
            return
        await self.update_mirrored_version(
            existing.id,
            state=MirrorState.REQUESTED.value,
            request=request,
            reason=None,
            detail=None,
            retryable=None,
            next_attempt_at=None,
            attempts=existing.attempts + 1,
        )

    async def update_mirrored_version(self, mirrored_version_id: int, **values: Any) -> None:
        await self._session.execute(
            update(MirroredVersionRow)
            .where(MirroredVersionRow.id == mirrored_version_id)
            .values(**values, updated_at=func.now())
        )

    async def due_retries(self, peer_id: int, now: datetime) -> list[MirroredVersionRecord]:
        """Failed mirrors of the peer that may pass by themselves and whose wait is over."""
        statement = (
            select(MirroredVersionRow)
            .join(MirroredModelRow, MirroredModelRow.model_id == MirroredVersionRow.model_id)
            .where(
                MirroredModelRow.peer_id == peer_id,
                MirroredModelRow.withdrawn_at.is_(None),
                MirroredVersionRow.state == MirrorState.FAILED.value,
                MirroredVersionRow.retryable.is_(True),
                MirroredVersionRow.next_attempt_at <= now,
            )
            .order_by(MirroredVersionRow.id)
            .with_for_update(of=MirroredVersionRow, skip_locked=True)
        )
        return [_mirrored_version(row) for row in await self._session.scalars(statement)]
