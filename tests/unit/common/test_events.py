"""Event contracts: CloudEvents envelope, round trips, refusal of unknown types, immutability."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from modelbay_common.events import (
    EVENT_CLASSES,
    AliasMoved,
    AliasRemoved,
    CommentDeleted,
    CommentEdited,
    CommentHidden,
    CommentPosted,
    DependenciesResolved,
    DependencyResolutionFailed,
    DependencyResolutionStarted,
    Envelope,
    EventDecodeError,
    EventPayload,
    ImageBuildFailed,
    ImageBuilt,
    MirroredArtifact,
    MirrorFailed,
    MirrorRequested,
    ModelDeleted,
    ModelFavourited,
    ModelRated,
    ModelRatingRemoved,
    ModelUnfavourited,
    ModelUploaded,
    OrgCreated,
    OrgMemberAdded,
    OrgMemberRemoved,
    OrgMemberRoleChanged,
    PeerSynced,
    PublishApproved,
    PublishDeclined,
    Published,
    PublishRequested,
    UnknownEventTypeError,
    ValidationFailed,
    VersionMirrored,
    envelope,
    parse_event,
)
from pydantic import ValidationError

REPO_ROOT = Path(__file__).resolve().parents[3]
SHA = "ab" * 32
COMMON = {"owner": "alice", "name": "iris", "version": 3}

SAMPLES: list[EventPayload] = [
    ModelUploaded(
        **COMMON,
        upload_id="up-1",
        bundle_uri="s3://modelbay/bundles/x",
        bundle_sha256=SHA,
        bundle_size=1234,
        python_version="3.11",
        requirements=["scikit-learn==1.5.2"],
        methods=["predict"],
        uploaded_by="alice",
        description="Iris classifier",
        license="MIT",
    ),
    DependenciesResolved(
        **COMMON,
        bundle_uri="s3://modelbay/bundles/x",
        bundle_sha256=SHA,
        python_version="3.11",
        lock=["numpy==2.1.0", "scikit-learn==1.5.2"],
        lock_hash="cd" * 32,
        wheelhouse_uri="s3://modelbay/wheelhouses/cd",
        wheelhouse_reused=True,
    ),
    DependencyResolutionStarted(**COMMON),
    DependencyResolutionFailed(**COMMON, reason="no-matching-distribution", detail="foo==9"),
    ImageBuilt(
        **COMMON,
        image_ref="127.0.0.1:5000/alice/iris:3",
        image_digest="sha256:" + "ef" * 32,
        image_size=123_456_789,
        sbom_uri="s3://modelbay/sbom/x.json",
        dependency_layer_cached=True,
        build_seconds=12.5,
        validation_seconds=3.25,
    ),
    ImageBuildFailed(**COMMON, reason="docker-build", log_tail="ERROR: ..."),
    ValidationFailed(
        **COMMON,
        reason="sample-mismatch",
        method="predict",
        sample_index=2,
        expected={"label": 1},
        actual={"label": 0},
    ),
    Published(
        **COMMON,
        visibility="public",
        image_ref="127.0.0.1:5000/alice/iris:3",
        description="Iris classifier",
        category="classification",
        license="MIT",
        published_by="alice",
    ),
    ModelRated(
        **COMMON,
        rated_by="bob",
        stars=4,
        previous_stars=2,
        review="Fast since v3",
        rating_count=7,
        rating_average=3.86,
    ),
    ModelRatingRemoved(
        **COMMON, rated_by="bob", stars=4, removed_by="root", rating_count=6, rating_average=3.83
    ),
    CommentPosted(**COMMON, comment_id=12, parent_id=10, author="bob", body="Thanks!"),
    CommentEdited(**COMMON, comment_id=12, author="bob", body="Thanks a lot!"),
    CommentDeleted(**COMMON, comment_id=12, author="bob", deleted_by="bob"),
    CommentHidden(
        **COMMON, comment_id=11, author="carol", hidden=True, moderator="root", reason="spam"
    ),
    ModelFavourited(**COMMON, favourited_by="bob", favourites=3),
    ModelUnfavourited(**COMMON, favourited_by="bob", favourites=2),
    AliasMoved(**COMMON, alias="stable", previous_version=2, moved_by="alice"),
    AliasRemoved(**COMMON, alias="stable", removed_by="alice"),
    PublishRequested(**COMMON, request_id=1, visibility="public", requested_by="alice"),
    PublishApproved(**COMMON, request_id=1, requested_by="alice", approved_by="pat", comment="ok"),
    PublishDeclined(**COMMON, request_id=2, requested_by="alice", declined_by="pat", comment="no"),
    ModelDeleted(
        **COMMON,
        versions=(1, 2, 3),
        image_refs=("127.0.0.1:5000/alice/iris:3@sha256:" + "a" * 64,),
        bundle_uris=("bundles/sha256/" + "b" * 64 + ".tar.gz",),
        visibility="public",
        deleted_by="alice",
    ),
    OrgCreated(org="acme", created_by="alice"),
    OrgMemberAdded(org="acme", member="bob", role="reader", added_by="alice"),
    OrgMemberRoleChanged(
        org="acme", member="bob", role="maintainer", previous_role="reader", changed_by="alice"
    ),
    OrgMemberRemoved(org="acme", member="bob", role="maintainer", removed_by="alice"),
    MirrorRequested(
        **COMMON,
        peer="a",
        origin_url="https://a.example",
        origin_owner="alice",
        origin_name="iris",
        origin_version=3,
        origin_registry="registry.a.example:5000",
        image_repository="alice/iris",
        image_digest=f"sha256:{SHA}",
        artifacts=(MirroredArtifact(kind="bundle", sha256=SHA, size=10, url="https://a/x"),),
        trusted_keys=("-----BEGIN PUBLIC KEY-----",),
    ),
    VersionMirrored(
        **COMMON,
        peer="a",
        origin_url="https://a.example",
        origin_owner="alice",
        origin_name="iris",
        origin_version=3,
        image_ref=f"localhost:5000/alice/iris@sha256:{SHA}",
        image_digest=f"sha256:{SHA}",
        verified_key_id="k1",
    ),
    MirrorFailed(
        **COMMON,
        peer="a",
        origin_url="https://a.example",
        origin_owner="alice",
        origin_name="iris",
        origin_version=3,
        reason="the signature did not verify",
        retryable=False,
    ),
    PeerSynced(peer="a", cursor="12", requested=1, withdrawn=0),
]


def test_every_event_class_has_a_sample_a_docstring_and_a_versioned_type() -> None:
    assert {type(sample) for sample in SAMPLES} == set(EVENT_CLASSES.values())
    for event_type, event_class in EVENT_CLASSES.items():
        # A model's events, an organisation's (subject `orgs/<org>`), federation's.
        assert event_type.startswith(("modelbay.model.", "modelbay.org.", "modelbay.federation."))
        assert event_type.endswith(".v1")
        assert "Sent by" in (event_class.__doc__ or "")


@pytest.mark.parametrize("event", SAMPLES, ids=lambda event: type(event).__name__)
def test_envelope_round_trips_through_json(event: EventPayload) -> None:
    wrapped = envelope(event, source="/modelbay/test")

    parsed = parse_event(wrapped.to_json())

    assert parsed == wrapped
    assert type(parsed.data) is type(event)
    assert parsed.data == event


def test_envelope_carries_the_cloudevents_attributes() -> None:
    wrapped = envelope(SAMPLES[0], source="/modelbay/onboarding")

    document = json.loads(wrapped.to_json())

    assert document["specversion"] == "1.0"
    assert document["type"] == "modelbay.model.uploaded.v1"
    assert document["source"] == "/modelbay/onboarding"
    assert document["subject"] == "alice/iris/3"
    assert document["datacontenttype"] == "application/json"
    assert len(document["id"]) == 36  # a uuid4
    assert document["time"].endswith("Z")
    assert document["data"]["requirements"] == ["scikit-learn==1.5.2"]


def test_each_envelope_gets_its_own_id() -> None:
    assert envelope(SAMPLES[0], source="/x").id != envelope(SAMPLES[0], source="/x").id


def test_unknown_type_is_refused_with_the_known_types_listed() -> None:
    document = json.loads(envelope(SAMPLES[0], source="/x").to_json())
    document["type"] = "modelbay.model.teleported.v1"

    with pytest.raises(UnknownEventTypeError) as refused:
        parse_event(document)

    assert "modelbay.model.teleported.v1" in str(refused.value)
    assert "modelbay.model.uploaded.v1" in str(refused.value)


def test_unknown_fields_in_data_are_ignored_for_forward_compatibility() -> None:
    document = json.loads(envelope(SAMPLES[2], source="/x").to_json())
    document["data"]["added_in_a_later_release"] = {"anything": [1, 2]}
    document["traceparent"] = "00-abc-def-01"  # a CloudEvents extension attribute

    parsed = parse_event(json.dumps(document))

    assert parsed.data == SAMPLES[2]


def test_invalid_payload_is_refused_naming_the_field() -> None:
    document = json.loads(envelope(SAMPLES[0], source="/x").to_json())
    document["data"]["bundle_size"] = -1

    with pytest.raises(EventDecodeError, match="bundle_size"):
        parse_event(document)


def test_payload_must_match_the_declared_type() -> None:
    document = json.loads(envelope(SAMPLES[2], source="/x").to_json())
    document["type"] = ImageBuilt.type  # data lacks every ImageBuilt field

    with pytest.raises(EventDecodeError, match="image_ref"):
        parse_event(document)


@pytest.mark.parametrize("raw", [b"not json", "[1, 2]", b'{"id": "x"}'])
def test_non_envelopes_are_refused(raw: bytes | str) -> None:
    with pytest.raises(EventDecodeError):
        parse_event(raw)


def test_events_and_envelopes_are_frozen() -> None:
    event = SAMPLES[0]
    wrapped = envelope(event, source="/x")

    with pytest.raises(ValidationError):
        event.version = 4  # type: ignore[misc]
    with pytest.raises(ValidationError):
        wrapped.subject = "mallory/iris/3"  # type: ignore[misc]
    assert isinstance(event, ModelUploaded)
    assert isinstance(event.requirements, tuple)  # lists become tuples: deeply immutable


def test_time_is_normalised_to_utc_and_naive_times_are_refused() -> None:
    plus_two = timezone(timedelta(hours=2))
    wrapped = envelope(SAMPLES[0], source="/x", time=datetime(2025, 1, 1, 14, 0, tzinfo=plus_two))
    assert wrapped.time == datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert wrapped.time.utcoffset() == timedelta(0)

    document = json.loads(wrapped.to_json())
    document["time"] = "2025-01-01T12:00:00"
    with pytest.raises(EventDecodeError, match="time"):
        parse_event(document)


def test_event_as_gives_the_typed_payload_or_refuses_another_type() -> None:
    wrapped = parse_event(envelope(SAMPLES[0], source="/x").to_json())

    assert wrapped.event_as(ModelUploaded).upload_id == "up-1"
    with pytest.raises(TypeError, match="image_built"):
        wrapped.event_as(ImageBuilt)


def test_envelope_validates_from_a_mapping_too() -> None:
    document = json.loads(
        envelope(next(s for s in SAMPLES if isinstance(s, ImageBuilt)), source="/x").to_json()
    )

    assert isinstance(Envelope.model_validate(document).data, ImageBuilt)


def test_asyncapi_document_is_generated_from_the_event_classes() -> None:
    """docs/asyncapi.yaml must be exactly what scripts/gen_asyncapi.py derives from the code."""
    import runpy

    generator = runpy.run_path(str(REPO_ROOT / "scripts" / "gen_asyncapi.py"))
    committed = (REPO_ROOT / "docs" / "asyncapi.yaml").read_text()

    assert committed == generator["render"](), (
        "docs/asyncapi.yaml is stale: run `uv run python scripts/gen_asyncapi.py`"
    )
    document = generator["build_document"]()
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == set(EVENT_CLASSES)
    for event_class in EVENT_CLASSES.values():
        described = document["components"]["schemas"][f"{event_class.__name__}Data"]
        code = event_class.model_json_schema(mode="serialization")
        assert set(described["properties"]) == set(code["properties"]), event_class.__name__
