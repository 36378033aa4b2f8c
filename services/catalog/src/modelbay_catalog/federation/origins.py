"""A mirrored model as the catalog's other routes show and guard it (docs/federation.md).

- Its detail answers carry `origin` (the peer, the origin's coordinates, each version's mirror
  state): `model_with_origin`, `version_with_origin`.
- It is read-only here: `refuse_changes_to_mirrors` is a route dependency of every write to a
  model (publish, aliases, ratings; the push check) answering 409 `model-is-mirrored`.

Imported by the catalog's `api.py` (and sub-routers); it imports none of them.
"""

# No `from __future__ import annotations` here: FastAPI must evaluate the dependency's signature.
from typing import cast

from fastapi import Request
from modelbay_common.contracts.catalog import ModelDetail, VersionDetail
from modelbay_common.db import SessionFactory, transaction
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_catalog.federation.service import origins_of, refuse_if_mirrored
from modelbay_catalog.federation.store import FederationStore
from modelbay_catalog.records import ModelRecord
from modelbay_catalog.store import CatalogStore


async def model_with_origin(
    session: AsyncSession, model: ModelRecord, detail: ModelDetail
) -> ModelDetail:
    origins = await origins_of(FederationStore(session), model)
    if origins.model is None:
        return detail
    return detail.model_copy(update={"origin": origins.model})


async def version_with_origin(
    session: AsyncSession, model: ModelRecord, detail: VersionDetail
) -> VersionDetail:
    origins = await origins_of(FederationStore(session), model)
    if origins.model is None:
        return detail
    return detail.model_copy(update={"origin": origins.versions.get(detail.version, origins.model)})


async def refuse_changes_to_mirrors(request: Request, owner: str, name: str) -> None:
    """409 when `owner/name` is a mirror (its own short read; the route's transaction is not
    open yet when dependencies without it run)."""
    async with transaction(cast(SessionFactory, request.app.state.sessions)) as session:
        model = await CatalogStore(session).find_model(owner, name)
        if model is not None:
            await refuse_if_mirrored(FederationStore(session), model)
