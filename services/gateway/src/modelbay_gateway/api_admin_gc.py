"""`POST /v1/admin/gc` (`modelbay admin gc [--dry-run]`): run the artifact garbage collector
now (gc_run.py), administrators only. Audited."""

# No `from __future__ import annotations`: FastAPI must evaluate the route annotations.
from typing import Annotated

from fastapi import APIRouter, Query

from modelbay_gateway.auth import SignedIn
from modelbay_gateway.context import ContextDep
from modelbay_gateway.errors import AdminRequired
from modelbay_gateway.gc_run import GcRunOut, run_gc
from modelbay_gateway.service_models import caller_of

router = APIRouter(prefix="/v1/admin", tags=["admin"])


@router.post("/gc", response_model=GcRunOut, summary="Reclaim artifacts of dead versions")
async def collect_garbage(
    principal: SignedIn,
    context: ContextDep,
    dry_run: Annotated[
        bool, Query(description="Report what would be reclaimed; delete nothing")
    ] = False,
) -> GcRunOut:
    """Bundles, wheelhouses, `.deb` archives and registry images that only failed versions or
    versions of deleted models reference, older than the grace period
    (`MODELBAY_GATEWAY_GC_GRACE_SECONDS`). The registry's layer bytes go only when its own
    garbage-collect runs (docs/operations.md)."""
    if not principal.user.is_admin:
        raise AdminRequired("run the artifact garbage collector")
    return await run_gc(
        context,
        caller_of(principal),
        actor=principal.user.username,
        dry_run=dry_run,
        trigger="admin",
    )
