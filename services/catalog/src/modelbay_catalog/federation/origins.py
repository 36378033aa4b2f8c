"""A mirrored model as the catalog's other routes show and guard it (docs/federation.md).

- Its detail answers carry `origin` (the peer, the origin's coordinates, each version's mirror
  state): `model_with_origin`, `version_with_origin`.
- It is read-only here: every write to a model (publish, aliases, ratings; the push check)
  answers 409 `model-is-mirrored`: `ensure_writable` is the first thing those routes do (in the
  route, not as a dependency, so that a bad body is a 422 before any query).

Imported by the catalog's `api.py` (and sub-routers); it imports none of them.
"""

from __future__ import annotations

from modelbay_common.contracts.catalog import ModelDetail, VersionDetail
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


async def ensure_writable(session: AsyncSession, owner: str, name: str) -> None:
    """409 when `owner/name` is a mirror (in the route's transaction)."""
    model = await CatalogStore(session).find_model(owner, name)
    if model is not None:
        await refuse_if_mirrored(FederationStore(session), model)
