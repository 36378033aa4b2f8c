"""The catalog consumes the lifecycle events it knows and nothing else (DESIGN.md §8.7).

A new event class meant for another service, or the catalog's own `Published`, must neither be
subscribed to nor, when one arrives anyway, be read as a version of a model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, NoReturn

from modelbay_catalog.handlers import LIFECYCLE_EVENT_TYPES, record_lifecycle_event
from modelbay_catalog.lifecycle import TRANSITIONS, VersionState, apply_event, is_lifecycle_event
from modelbay_common.bus import InProcessBus
from modelbay_common.events import (
    EVENT_CLASSES,
    CommentHidden,
    CommentPosted,
    DependenciesResolved,
    DependencyResolutionFailed,
    DependencyResolutionStarted,
    Event,
    ImageBuildFailed,
    ImageBuilt,
    ModelFavourited,
    ModelRated,
    ModelUploaded,
    Published,
    ValidationFailed,
    envelope,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class ModelStarred(Event):
    """A new event some other service might add one day; the catalog does not know it."""

    type: ClassVar[str] = "modelbay.model.starred.v1"

    starred_by: str


class UploadedElsewhere(ModelUploaded):
    """A look-alike subclass: the catalog matches exact classes, never "something like" one."""

    type: ClassVar[str] = "modelbay.other.uploaded.v1"


STARRED = ModelStarred(owner="alice", name="iris", version=1, starred_by="bob")
PUBLISHED = Published(
    owner="alice", name="iris", version=1, visibility="public", image_ref="r", published_by="a"
)


class UntouchableSession:
    """A session that fails the test on any use: handling must stop before the first query."""

    def __getattr__(self, name: str) -> NoReturn:
        raise AssertionError(f"the handler used session.{name} for an event it does not consume")


def test_the_catalog_subscribes_to_exactly_its_transitions() -> None:
    assert set(LIFECYCLE_EVENT_TYPES) == {event_class.type for event_class in TRANSITIONS}
    assert Published.type not in LIFECYCLE_EVENT_TYPES
    assert ModelStarred.type not in LIFECYCLE_EVENT_TYPES
    # The catalog consumes exactly the events of a version's build, each of them; everything
    # else in the registry (its own Published and community events, aliases, publication
    # requests, organisations) is left out, so a new non-pipeline event needs no change here.
    pipeline = {
        ModelUploaded,
        DependencyResolutionStarted,
        DependenciesResolved,
        DependencyResolutionFailed,
        ImageBuilt,
        ImageBuildFailed,
        ValidationFailed,
    }
    assert set(LIFECYCLE_EVENT_TYPES) == {cls.type for cls in pipeline}
    assert set(LIFECYCLE_EVENT_TYPES) <= set(EVENT_CLASSES)
    for community in (ModelRated, CommentPosted, ModelFavourited, CommentHidden):
        assert community.type not in LIFECYCLE_EVENT_TYPES


async def test_an_unknown_event_is_acknowledged_without_touching_the_database() -> None:
    session: Any = UntouchableSession()
    for event in (STARRED, PUBLISHED, _uploaded_elsewhere()):
        assert not is_lifecycle_event(event)
        # Returns normally: the inbox wrapper commits and the bus acknowledges.
        await record_lifecycle_event(session, envelope(event, source="/modelbay/test"))


def test_an_unknown_event_leaves_a_version_as_it_is() -> None:
    state = VersionState(version=1)
    for event in (STARRED, PUBLISHED, _uploaded_elsewhere()):
        assert apply_event(state, event, T0) is state


async def test_the_bus_never_hands_an_unknown_event_to_the_catalog() -> None:
    handled: list[str] = []

    async def handler(envelope: Any) -> None:
        handled.append(envelope.type)

    bus = InProcessBus()
    await bus.subscribe("catalog.lifecycle", LIFECYCLE_EVENT_TYPES, handler)
    await bus.start()
    try:
        for event in (STARRED, PUBLISHED):
            await bus.publish(envelope(event, source="/modelbay/test"))
        await bus.drain()
        assert handled == []
        assert await bus.dead_letters("catalog.lifecycle") == []
    finally:
        await bus.close()


def _uploaded_elsewhere() -> UploadedElsewhere:
    return UploadedElsewhere(
        owner="alice",
        name="iris",
        version=1,
        upload_id="u",
        bundle_uri="bundles/sha256/" + "a" * 64 + ".tar.gz",
        bundle_sha256="a" * 64,
        bundle_size=1,
        python_version="3.11",
        requirements=(),
        methods=("classify",),
        uploaded_by="alice",
    )
