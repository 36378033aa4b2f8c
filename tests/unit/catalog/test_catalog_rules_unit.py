"""Visibility, publishing rules, metadata vocabulary and cursors (pure functions)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from modelbay_catalog.cursor import SortKey, decode_cursor, encode_cursor, search_fingerprint
from modelbay_catalog.errors import (
    CallerRequired,
    InvalidCursor,
    NotModelOwner,
    VersionNotFound,
    VersionNotReady,
)
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.publishing import version_to_publish
from modelbay_catalog.records import ModelRecord
from modelbay_catalog.rules import library_names, normalize_tags
from modelbay_common.access import Caller, ModelAccess, Visibility, can_change, can_see

ALICE = Caller(user="alice", org="acme")
COLLEAGUE = Caller(user="carol", org="acme")
STRANGER = Caller(user="dan", org="other")
NO_ORG = Caller(user="erin")
ANONYMOUS = Caller()
ADMIN = Caller(user="root", admin=True)


@pytest.mark.parametrize(
    ("visibility", "who_sees"),
    [
        (Visibility.PRIVATE, {"alice", "root"}),
        (Visibility.ORG, {"alice", "carol", "root"}),
        (Visibility.PUBLIC, {"alice", "carol", "dan", "erin", "anonymous", "root"}),
    ],
)
def test_who_may_see_a_model(visibility: Visibility, who_sees: set[str]) -> None:
    model = ModelAccess(owner="alice", owner_org="acme", visibility=visibility)
    callers = [ALICE, COLLEAGUE, STRANGER, NO_ORG, ANONYMOUS, ADMIN]

    seen = {caller.user or "anonymous" for caller in callers if can_see(caller, model)}

    assert seen == who_sees


def test_org_visibility_without_a_known_org_is_owner_only() -> None:
    model = ModelAccess(owner="alice", owner_org=None, visibility=Visibility.ORG)

    assert not can_see(Caller(user="x", org=""), model)
    assert not can_see(COLLEAGUE, model)
    assert can_see(ALICE, model)


def test_only_owner_and_admin_may_change() -> None:
    model = ModelAccess(owner="alice", owner_org="acme", visibility=Visibility.PUBLIC)

    assert can_change(ALICE, model)
    assert can_change(ADMIN, model)
    assert not can_change(COLLEAGUE, model)
    assert not can_change(ANONYMOUS, model)


def model_record() -> ModelRecord:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return ModelRecord(
        id=1,
        owner="alice",
        name="iris",
        owner_org="acme",
        visibility=Visibility.PUBLIC,
        description="",
        category=None,
        license=None,
        tags=(),
        latest_version=3,
        latest_status="building",
        libraries=(),
        published_version=None,
        published_at=None,
        published_by=None,
        created_at=now,
        updated_at=now,
    )


STATUSES = {1: VersionStatus.READY, 2: VersionStatus.READY, 3: VersionStatus.BUILDING}


def test_publish_defaults_to_the_newest_ready_version() -> None:
    assert version_to_publish(ALICE, model_record(), None, STATUSES) == 2
    assert version_to_publish(ADMIN, model_record(), 1, STATUSES) == 1


@pytest.mark.parametrize(
    ("caller", "requested", "statuses", "error"),
    [
        (ANONYMOUS, None, STATUSES, CallerRequired),
        (COLLEAGUE, None, STATUSES, NotModelOwner),
        (ALICE, 3, STATUSES, VersionNotReady),
        (ALICE, 9, STATUSES, VersionNotFound),
        (ALICE, None, {1: VersionStatus.FAILED}, VersionNotReady),
    ],
)
def test_publish_is_refused_with_the_reason(
    caller: Caller,
    requested: int | None,
    statuses: dict[int, VersionStatus],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        version_to_publish(caller, model_record(), requested, statuses)


def test_refusing_a_building_version_says_its_status() -> None:
    with pytest.raises(VersionNotReady) as refused:
        version_to_publish(ALICE, model_record(), 3, STATUSES)

    assert refused.value.status == 409
    assert "'building'" in str(refused.value.detail)
    assert refused.value.extensions["version_status"] == "building"


def test_tags_are_normalised_and_bad_ones_named() -> None:
    assert normalize_tags([" Iris ", "iris", "tabular", ""]) == ("iris", "tabular")
    with pytest.raises(ValueError, match="'has space'"):
        normalize_tags(["has space"])
    with pytest.raises(ValueError, match="at most 20"):
        normalize_tags([f"t{index}" for index in range(21)])


def test_libraries_come_from_requirement_names() -> None:
    requirements = ["scikit-learn==1.5.2", "Scikit_Learn>=1", "xgboost[cpu]==2.1", "numpy"]

    assert library_names(requirements) == ("numpy", "scikit-learn", "xgboost")


def test_a_cursor_round_trips_and_rejects_tampering_and_other_searches() -> None:
    fingerprint = search_fingerprint({"q": "iris", "owner": None})
    cursor = encode_cursor(SortKey(value=0.25, model_id=42), fingerprint)

    assert decode_cursor(cursor, fingerprint) == SortKey(value=0.25, model_id=42)
    other = search_fingerprint({"q": "house", "owner": None})
    with pytest.raises(InvalidCursor, match="other filters"):
        decode_cursor(cursor, other)
    for garbage in ("", "!!!", "bm90IGpzb24", encode_cursor(SortKey(None, 1), fingerprint)[:-3]):
        with pytest.raises(InvalidCursor):
            decode_cursor(garbage, fingerprint)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400", "1" + "0" * 400])
def test_a_cursor_whose_sort_value_no_page_wrote_is_malformed(value: str) -> None:
    # JSON reads these; a page never writes them, and `float()` of a huge integer raises.
    fingerprint = search_fingerprint({"q": "iris", "owner": None})
    document = '{"v":' + value + ',"i":1,"f":"' + fingerprint + '"}'
    cursor = base64.urlsafe_b64encode(document.encode()).decode().rstrip("=")
    with pytest.raises(InvalidCursor, match="malformed"):
        decode_cursor(cursor, fingerprint)
