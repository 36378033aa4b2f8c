"""Administrators' allowances of blocked pickle globals, per model (docs/trust.md).

A blocked global (`os.system`, `builtins.eval`, ...) refuses an upload with 422. An
administrator who has read the model's code may allow named globals for that one model; later
uploads of the model then pass with those globals listed under `allowed` and the scan `flagged`.
The allowance names exact `module.name` strings, never a whole module, so allowing `os.getcwd`
does not allow `os.system`. Queries are here (this use case's store), the routes in api_pickles.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_onboarding.orm import PickleAllowanceRow


@dataclass(frozen=True)
class PickleAllowance:
    global_name: str
    allowed_by: str
    reason: str
    created_at: datetime


class PickleAllowanceStore:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def allowed_globals(self, owner: str, name: str) -> frozenset[str]:
        rows = await self._session.scalars(
            select(PickleAllowanceRow.global_name).where(
                PickleAllowanceRow.owner == owner, PickleAllowanceRow.name == name
            )
        )
        return frozenset(rows)

    async def listed(self, owner: str, name: str) -> list[PickleAllowance]:
        rows = await self._session.scalars(
            select(PickleAllowanceRow)
            .where(PickleAllowanceRow.owner == owner, PickleAllowanceRow.name == name)
            .order_by(PickleAllowanceRow.global_name)
        )
        return [
            PickleAllowance(row.global_name, row.allowed_by, row.reason, row.created_at)
            for row in rows
        ]

    async def allow(
        self, owner: str, name: str, globals_: list[str], *, allowed_by: str, reason: str
    ) -> None:
        """Allow each of `globals_` (again: the newest reason and administrator win)."""
        for global_name in globals_:
            statement = insert(PickleAllowanceRow).values(
                owner=owner,
                name=name,
                global_name=global_name,
                allowed_by=allowed_by,
                reason=reason,
            )
            await self._session.execute(
                statement.on_conflict_do_update(
                    index_elements=["owner", "name", "global_name"],
                    set_={"allowed_by": allowed_by, "reason": reason},
                )
            )
        await self._session.flush()

    async def revoke(self, owner: str, name: str, global_name: str) -> bool:
        result = await self._session.execute(
            delete(PickleAllowanceRow).where(
                PickleAllowanceRow.owner == owner,
                PickleAllowanceRow.name == name,
                PickleAllowanceRow.global_name == global_name,
            )
        )
        await self._session.flush()
        return bool(getattr(result, "rowcount", 0))
