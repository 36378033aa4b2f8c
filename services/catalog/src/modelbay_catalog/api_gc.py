"""`GET /internal/gc/marks`: what the artifact garbage collector may reclaim and must keep
(`modelbay_common.contracts.gc`), read by the gateway's `POST /v1/admin/gc` only."""

# No `from __future__ import annotations` here: FastAPI must evaluate the route annotations.
from fastapi import APIRouter
from modelbay_common.contracts.gc import DeadVersion, GcMarks, death_reason
from modelbay_common.errors import Forbidden

from modelbay_catalog.api import CallerDep, SessionDep
from modelbay_catalog.store_gc import GcStore

router = APIRouter(tags=["gc"])


@router.get("/internal/gc/marks", response_model=GcMarks)
async def gc_marks(session: SessionDep, caller: CallerDep) -> GcMarks:
    if not caller.admin:
        raise Forbidden("only an administrator may read the garbage collector's marks")
    marks = GcMarks(dead=[])
    live_bundles: set[str] = set()
    live_locks: set[str] = set()
    for row in await GcStore(session).version_artifacts():
        reason = death_reason(row.status, row.model_deleted)
        if reason is not None:
            marks.dead.append(
                DeadVersion(owner=row.owner, name=row.name, version=row.version, reason=reason)
            )
            continue
        if row.bundle_sha256:
            live_bundles.add(row.bundle_sha256)
        if row.lock_hash:
            live_locks.add(row.lock_hash)
    marks.live_bundle_sha256 = sorted(live_bundles)
    marks.live_lock_hashes = sorted(live_locks)
    return marks
