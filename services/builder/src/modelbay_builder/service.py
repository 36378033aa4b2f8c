"""Use cases of the builder. Each runs in the caller's transaction (it only flushes)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from modelbay_common.events import (
    DependenciesResolved,
    ImageBuildFailed,
    ImageBuilt,
    ValidationFailed,
)
from modelbay_common.outbox import EventEmitter
from modelbay_common.tracing import trace_headers
from pydantic import JsonValue, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from modelbay_builder.errors import BuildNotFound, BuildStepFailed, ImageValidationFailed
from modelbay_builder.orm import SCHEMA
from modelbay_builder.records import BuildRequest, BuildResult, BuildView, ClaimedBuild, FailureKind
from modelbay_builder.settings import EVENT_SOURCE
from modelbay_builder.store import BuildStore

_JSON = TypeAdapter(JsonValue)

# The builder's one way to write an event: in its outbox, in the caller's transaction.
emit = EventEmitter(source=EVENT_SOURCE, schema=SCHEMA)


async def request_build(session: AsyncSession, event: DependenciesResolved) -> bool:
    """Queue the image build of a resolved version; False if that version was already queued.

    The request keeps the current span (the consumer's), which the build's span continues.
    """
    trace = trace_headers()
    request = replace(
        BuildRequest.from_event(event),
        traceparent=trace.get("traceparent"),
        tracestate=trace.get("tracestate"),
    )
    return await BuildStore(session).enqueue(request)


async def record_built(
    session: AsyncSession, claimed: ClaimedBuild, result: BuildResult, log_tail: str
) -> None:
    request = claimed.request
    await BuildStore(session).record_success(claimed.build_id, result, log_tail)
    event = ImageBuilt(
        owner=request.owner,
        name=request.name,
        version=request.version,
        image_ref=result.image_ref,
        image_digest=result.image_digest,
        image_size=result.image_size,
        sbom_uri=result.sbom_uri,
        dependency_layer_cached=result.dependency_layer_cached,
        build_seconds=round(result.build_seconds, 3),
        validation_seconds=round(result.validation_seconds, 3),
        provenance_uri=result.provenance_key,
        provenance_sha256=result.provenance_sha256,
        signing_seconds=(
            round(result.signing_seconds, 3) if result.signing_seconds is not None else None
        ),
    )
    await emit(session, event)


async def record_build_failed(
    session: AsyncSession, claimed: ClaimedBuild, failure: BuildStepFailed, log_tail: str
) -> None:
    request = claimed.request
    tail = failure.log_tail or log_tail
    await BuildStore(session).record_failure(
        claimed.build_id, FailureKind.BUILD, failure.reason, tail
    )
    event = ImageBuildFailed(
        owner=request.owner,
        name=request.name,
        version=request.version,
        reason=failure.reason,
        log_tail=tail,
    )
    await emit(session, event)


async def record_validation_failed(
    session: AsyncSession, claimed: ClaimedBuild, failure: ImageValidationFailed, log_tail: str
) -> None:
    request = claimed.request
    tail = "\n".join(part for part in (log_tail, failure.log_tail) if part)
    await BuildStore(session).record_failure(
        claimed.build_id, FailureKind.VALIDATION, failure.reason, tail
    )
    event = ValidationFailed(
        owner=request.owner,
        name=request.name,
        version=request.version,
        reason=failure.reason,
        method=failure.method,
        sample_index=failure.sample_index,
        expected=_as_json(failure.expected),
        actual=_as_json(failure.actual),
        log_tail=failure.log_tail,
    )
    await emit(session, event)


async def build_status(session: AsyncSession, owner: str, name: str, version: int) -> BuildView:
    view = await BuildStore(session).find(owner, name, version)
    if view is None:
        raise BuildNotFound(owner, name, version)
    return view


def _as_json(value: Any) -> JsonValue:
    try:
        return _JSON.validate_python(value)
    except ValidationError:
        return repr(value)
