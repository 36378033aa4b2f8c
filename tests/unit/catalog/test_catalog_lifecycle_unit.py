"""The version state machine: forward only, final states, out of order, redelivery."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from modelbay_catalog.lifecycle import (
    MAX_DETAIL_CHARS,
    VersionState,
    VersionStatus,
    apply_event,
    next_status,
)
from modelbay_common.events import (
    DependenciesResolved,
    DependencyResolutionFailed,
    DependencyResolutionStarted,
    Event,
    ImageBuildFailed,
    ImageBuilt,
    InterfaceField,
    MethodInterface,
    ModelUploaded,
    Published,
    ValidationFailed,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SHA = "ab" * 32
IDS = {"owner": "alice", "name": "iris", "version": 1}

UPLOADED = ModelUploaded(
    **IDS,
    upload_id="up-1",
    bundle_uri="s3://b/x",
    bundle_sha256=SHA,
    bundle_size=10,
    python_version="3.11.2",
    requirements=("scikit-learn==1.5.2",),
    methods=("classify",),
    uploaded_by="alice",
    description="iris",
    interface=(MethodInterface(name="classify", inputs=(InterfaceField(name="sepal_length"),)),),
)
RESOLVED = DependenciesResolved(
    **IDS,
    bundle_uri="s3://b/x",
    bundle_sha256=SHA,
    python_version="3.11.2",
    lock=("scikit-learn==1.5.2",),
    lock_hash="h",
    wheelhouse_uri="s3://b/w",
)
BUILT = ImageBuilt(
    **IDS,
    image_ref="r/alice/iris:1",
    image_digest="sha256:1",
    image_size=5,
    build_seconds=2.0,
    validation_seconds=1.0,
)


def run(*events: Event) -> VersionState:
    state = VersionState(version=1)
    for offset, event in enumerate(events):
        state = apply_event(state, event, T0 + timedelta(seconds=offset))
    return state


@pytest.mark.parametrize(
    ("current", "incoming", "expected"),
    [
        (VersionStatus.UPLOADED, VersionStatus.RESOLVING, VersionStatus.RESOLVING),
        (VersionStatus.UPLOADED, VersionStatus.READY, VersionStatus.READY),
        (VersionStatus.BUILDING, VersionStatus.FAILED, VersionStatus.FAILED),
        (VersionStatus.BUILDING, VersionStatus.UPLOADED, None),
        (VersionStatus.BUILDING, VersionStatus.BUILDING, None),
        (VersionStatus.READY, VersionStatus.FAILED, None),
        (VersionStatus.FAILED, VersionStatus.READY, None),
    ],
)
def test_status_only_moves_forward_and_final_states_stay(
    current: VersionStatus, incoming: VersionStatus, expected: VersionStatus | None
) -> None:
    assert next_status(current, incoming) is expected


def test_the_resolver_starting_moves_uploaded_to_resolving_and_never_back() -> None:
    started = DependencyResolutionStarted(**IDS)

    assert run(UPLOADED, started).status is VersionStatus.RESOLVING
    assert run(UPLOADED, started, RESOLVED).status is VersionStatus.BUILDING
    assert run(UPLOADED, RESOLVED, started).status is VersionStatus.BUILDING


def test_events_in_order_go_uploaded_building_ready_recording_each_stage() -> None:
    assert run(UPLOADED).status is VersionStatus.UPLOADED
    assert run(UPLOADED, RESOLVED).status is VersionStatus.BUILDING
    state = run(UPLOADED, RESOLVED, BUILT)

    assert state.status is VersionStatus.READY
    assert state.requirements == ("scikit-learn==1.5.2",)
    assert state.lock_hash == "h"
    assert state.image_ref == "r/alice/iris:1"
    assert (state.uploaded_at, state.resolved_at, state.finished_at) == (
        T0,
        T0 + timedelta(seconds=1),
        T0 + timedelta(seconds=2),
    )
    assert state.field_names() == ["sepal_length"]


@pytest.mark.parametrize("order", list(itertools.permutations([UPLOADED, RESOLVED, BUILT])))
def test_any_arrival_order_ends_ready_with_every_fact(order: tuple[Event, ...]) -> None:
    state = run(*order)

    assert state.status is VersionStatus.READY
    assert state.has_upload
    assert state.lock_hash == "h"
    assert state.image_digest == "sha256:1"


def test_a_redelivered_event_changes_nothing() -> None:
    once = run(UPLOADED, RESOLVED, BUILT)
    # Same times as the first delivery: a redelivery carries the same envelope.
    again = apply_event(once, BUILT, T0 + timedelta(seconds=2))
    again = apply_event(again, RESOLVED, T0 + timedelta(seconds=1))

    assert again == once


def test_a_failure_after_ready_is_ignored_and_a_success_after_failed_too() -> None:
    failed = ImageBuildFailed(**IDS, reason="oom", log_tail="killed")

    ready_then_failed = run(UPLOADED, BUILT, failed)
    failed_then_built = run(UPLOADED, failed, BUILT)

    assert ready_then_failed.status is VersionStatus.READY
    assert ready_then_failed.failure_reason is None
    assert failed_then_built.status is VersionStatus.FAILED
    assert failed_then_built.image_ref is None  # never a pull command next to a failure


def test_failure_details_keep_what_a_person_needs() -> None:
    pip = run(UPLOADED, DependencyResolutionFailed(**IDS, reason="no match", detail="pip says"))
    log = run(UPLOADED, ImageBuildFailed(**IDS, reason="build", log_tail="x" * 50_000))
    sample = run(
        UPLOADED,
        ValidationFailed(
            **IDS, reason="differs", method="classify", sample_index=2, expected=[1], actual=[2]
        ),
    )

    assert (pip.failure_reason, pip.failure_detail) == ("no match", "pip says")
    assert log.failure_detail == "x" * MAX_DETAIL_CHARS  # the end of a long log
    assert sample.failure_sample == {
        "method": "classify",
        "sample_index": 2,
        "expected": [1],
        "actual": [2],
    }
    assert sample.failure_detail == "sample 2 of method 'classify': expected [1], got [2]"
    crashed = run(UPLOADED, ValidationFailed(**IDS, reason="did not start", log_tail="Traceback"))
    assert crashed.failure_detail == "Traceback"
    assert crashed.failure_sample is None


def test_published_is_not_a_lifecycle_event() -> None:
    published = Published(**IDS, visibility="public", image_ref="r", published_by="alice")

    assert run(UPLOADED, published) == run(UPLOADED)
