"""The life of a model version, driven only by pipeline events (pure: no I/O).

Status order: ``uploaded < resolving < building < ready | failed``; ``ready`` and ``failed`` are
final. Events arrive at least once and in any order across producers (a retried
``DependenciesResolved`` may land after ``ImageBuilt``), so:

- the status only ever moves forward: an event whose status ranks at or below the current one
  leaves it alone (this also makes a redelivered event harmless);
- the facts an event carries about earlier stages (the upload, the lock) are recorded whenever
  they arrive, so a late ``ModelUploaded`` still fills in requirements and methods;
- the outcome (image or failure) is recorded only by the event that made the version final, so a
  stray ``ImageBuilt`` after ``failed`` never puts a pull command next to a failure;
- only the event classes in ``TRANSITIONS`` move a version. Any other event (``Published``, the
  catalog's own, or a new event meant for another service) is not one of them: the catalog does
  not subscribe to it, and if one reaches it anyway it is acknowledged and ignored, never read as
  a version of a model (``is_lifecycle_event``).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from modelbay_common.events import (
    DependenciesResolved,
    DependencyResolutionFailed,
    DependencyResolutionStarted,
    Event,
    ImageBuildFailed,
    ImageBuilt,
    ModelUploaded,
    ValidationFailed,
)

from modelbay_catalog.requirement_reasons import stored_reasons


class VersionStatus(StrEnum):
    UPLOADED = "uploaded"
    RESOLVING = "resolving"
    BUILDING = "building"
    READY = "ready"
    FAILED = "failed"

    @property
    def rank(self) -> int:
        return _RANK[self]

    @property
    def is_final(self) -> bool:
        return self in (VersionStatus.READY, VersionStatus.FAILED)


_RANK = {
    VersionStatus.UPLOADED: 0,
    VersionStatus.RESOLVING: 1,
    VersionStatus.BUILDING: 2,
    VersionStatus.READY: 3,
    VersionStatus.FAILED: 3,
}

# The failure detail is shown in a web page and an API response: keep the useful end of a log.
MAX_DETAIL_CHARS = 20_000


def next_status(current: VersionStatus, incoming: VersionStatus) -> VersionStatus | None:
    """The status after an event proposing `incoming`, or None when it must not change."""
    if current.is_final or incoming.rank <= current.rank:
        return None
    return incoming


@dataclass(frozen=True)
class VersionState:
    """Everything the catalog knows about one version; field names match the ORM columns."""

    version: int
    status: VersionStatus = VersionStatus.UPLOADED
    failure_reason: str | None = None
    failure_detail: str | None = None
    failure_sample: dict[str, Any] | None = None
    # from ModelUploaded
    upload_id: str | None = None
    bundle_uri: str | None = None
    bundle_sha256: str | None = None
    bundle_size: int | None = None
    python_version: str | None = None
    requirements: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    interface: tuple[dict[str, Any], ...] = ()
    uploaded_by: str | None = None
    description: str | None = None
    license: str | None = None
    descriptor_set: bytes | None = None  # serialized FileDescriptorSet, for interface diffs
    pickle_scan: dict[str, Any] | None = None  # onboarding's scan of the pickle (docs/trust.md)
    kind: str = "model"  # or "solution"
    nodes: tuple[dict[str, Any], ...] = ()  # a solution's {node, model} in document order
    # why each requirement is there: [{name (canonical), reasons}] (requirement_reasons.py)
    requirement_reasons: tuple[dict[str, Any], ...] = ()
    # from DependenciesResolved
    lock: tuple[str, ...] = ()
    lock_hash: str | None = None
    wheelhouse_uri: str | None = None
    wheelhouse_reused: bool | None = None
    # Debian packages the image needs, each {name, version, reasons, fetched} as the resolver
    # sent them (docs/system-packages.md): shown with the requirements on the version.
    system_packages: tuple[dict[str, Any], ...] = ()
    # from ImageBuilt
    image_ref: str | None = None
    image_digest: str | None = None
    image_size: int | None = None
    sbom_uri: str | None = None
    provenance_uri: str | None = None  # the signed provenance (None: the builder does not sign)
    provenance_sha256: str | None = None
    dependency_layer_cached: bool | None = None
    build_seconds: float | None = None
    validation_seconds: float | None = None
    signing_seconds: float | None = None
    # event times (CloudEvents `time`)
    uploaded_at: datetime | None = None
    resolved_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def has_upload(self) -> bool:
        """Whether ModelUploaded was seen (it may arrive after later events)."""
        return self.upload_id is not None

    def field_names(self) -> list[str]:
        """The interface's input and output field names, for search."""
        names: list[str] = []
        for method in self.interface:
            for side in ("inputs", "outputs"):
                names.extend(str(field["name"]) for field in method.get(side, ()))
        return names


def is_lifecycle_event(event: Event) -> bool:
    """Whether `event` moves a version (its exact class is in TRANSITIONS)."""
    return type(event) in TRANSITIONS


def apply_event(state: VersionState, event: Event, at: datetime) -> VersionState:
    """The state after `event` (sent at `at`); applying the same event twice changes nothing.

    An event that is not a lifecycle event leaves the state as it is.
    """
    transition = TRANSITIONS.get(type(event))
    return state if transition is None else transition(state, event, at)


def _on_uploaded(state: VersionState, event: ModelUploaded, at: datetime) -> VersionState:
    return _advance(_with_upload(state, event, at), VersionStatus.UPLOADED)


def _on_resolution_started(
    state: VersionState, event: DependencyResolutionStarted, at: datetime
) -> VersionState:
    return _advance(state, VersionStatus.RESOLVING)


def _on_resolved(state: VersionState, event: DependenciesResolved, at: datetime) -> VersionState:
    return _advance(_with_lock(state, event, at), VersionStatus.BUILDING)


def _advance(state: VersionState, incoming: VersionStatus) -> VersionState:
    status = next_status(state.status, incoming)
    return state if status is None else dataclasses.replace(state, status=status)


def _with_upload(state: VersionState, event: ModelUploaded, at: datetime) -> VersionState:
    return dataclasses.replace(
        state,
        upload_id=event.upload_id,
        bundle_uri=event.bundle_uri,
        bundle_sha256=event.bundle_sha256,
        bundle_size=event.bundle_size,
        python_version=event.python_version,
        requirements=tuple(event.requirements),
        methods=tuple(event.methods) or tuple(method.name for method in event.interface),
        interface=tuple(method.model_dump(mode="json") for method in event.interface),
        uploaded_by=event.uploaded_by,
        description=event.description,
        license=event.license,
        descriptor_set=event.descriptor_set_bytes,
        pickle_scan=None
        if event.pickle_scan is None
        else event.pickle_scan.model_dump(mode="json"),
        kind=event.kind,
        nodes=tuple(node.model_dump(mode="json") for node in event.nodes),
        requirement_reasons=stored_reasons(event.requirement_reasons),
        uploaded_at=at,
    )


def _with_lock(state: VersionState, event: DependenciesResolved, at: datetime) -> VersionState:
    return dataclasses.replace(
        state,
        python_version=state.python_version or event.python_version,
        bundle_uri=state.bundle_uri or event.bundle_uri,
        bundle_sha256=state.bundle_sha256 or event.bundle_sha256,
        lock=tuple(event.lock),
        lock_hash=event.lock_hash,
        wheelhouse_uri=event.wheelhouse_uri,
        wheelhouse_reused=event.wheelhouse_reused,
        system_packages=tuple(package.model_dump(mode="json") for package in event.system_packages),
        resolved_at=at,
    )


def _finish_ready(state: VersionState, event: ImageBuilt, at: datetime) -> VersionState:
    if next_status(state.status, VersionStatus.READY) is None:
        return state
    return dataclasses.replace(
        state,
        status=VersionStatus.READY,
        image_ref=event.image_ref,
        image_digest=event.image_digest,
        image_size=event.image_size,
        sbom_uri=event.sbom_uri,
        provenance_uri=event.provenance_uri,
        provenance_sha256=event.provenance_sha256,
        dependency_layer_cached=event.dependency_layer_cached,
        build_seconds=event.build_seconds,
        validation_seconds=event.validation_seconds,
        signing_seconds=event.signing_seconds,
        finished_at=at,
    )


def _finish_failed(
    state: VersionState,
    event: DependencyResolutionFailed | ImageBuildFailed | ValidationFailed,
    at: datetime,
) -> VersionState:
    if next_status(state.status, VersionStatus.FAILED) is None:
        return state
    return dataclasses.replace(
        state,
        status=VersionStatus.FAILED,
        failure_reason=event.reason,
        failure_detail=_failure_detail(event),
        failure_sample=_failing_sample(event),
        finished_at=at,
    )


def _failure_detail(
    event: DependencyResolutionFailed | ImageBuildFailed | ValidationFailed,
) -> str | None:
    if isinstance(event, DependencyResolutionFailed):
        detail = event.detail  # pip's message
    elif isinstance(event, ImageBuildFailed):
        detail = event.log_tail
    else:
        # The mismatch first, then the container's log (which holds a traceback if it crashed).
        detail = "\n".join(part for part in (_describe_mismatch(event), event.log_tail) if part)
    return detail[-MAX_DETAIL_CHARS:] if detail else None


def _describe_mismatch(event: ValidationFailed) -> str:
    if event.method is None:
        return ""
    return (
        f"sample {event.sample_index} of method {event.method!r}: expected "
        f"{json.dumps(event.expected)}, got {json.dumps(event.actual)}"
    )


def _failing_sample(
    event: DependencyResolutionFailed | ImageBuildFailed | ValidationFailed,
) -> dict[str, Any] | None:
    if not isinstance(event, ValidationFailed) or event.method is None:
        return None
    return {
        "method": event.method,
        "sample_index": event.sample_index,
        "expected": event.expected,
        "actual": event.actual,
    }


def refuse_ready(state: VersionState, event: ImageBuilt, reason: str, at: datetime) -> VersionState:
    """The state after `event` built the image of a solution whose node may no longer be used
    (deleted, or not visible to the solution's namespace any more): `failed` with `reason`
    instead of `ready`. The builder's image is not recorded: nothing should pull it."""
    if next_status(state.status, VersionStatus.FAILED) is None:
        return state
    detail = f"The image was built ({event.image_ref}) but the catalog refused it when it arrived."
    return dataclasses.replace(
        state,
        status=VersionStatus.FAILED,
        failure_reason=reason,
        failure_detail=detail,
        finished_at=at,
    )


# A transition takes the exact event class it is registered under (checked by `type(event)`).
Transition = Callable[[VersionState, Any, datetime], VersionState]

TRANSITIONS: Mapping[type[Event], Transition] = {
    ModelUploaded: _on_uploaded,
    DependencyResolutionStarted: _on_resolution_started,
    DependenciesResolved: _on_resolved,
    ImageBuilt: _finish_ready,
    DependencyResolutionFailed: _finish_failed,
    ImageBuildFailed: _finish_failed,
    ValidationFailed: _finish_failed,
}
"""Every event class that moves a version, and how; the catalog subscribes to these only."""

LIFECYCLE_EVENT_TYPES: tuple[str, ...] = tuple(event_class.type for event_class in TRANSITIONS)
