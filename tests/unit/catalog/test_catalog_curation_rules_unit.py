"""The rules of aliases and publish decisions (modelbay_catalog.curation.rules), enumerated."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from modelbay_catalog.curation.errors import (
    AliasIsAutomatic,
    CommentRequired,
    InvalidAliasName,
    MaintainerRequired,
    OwnPublicationRefused,
    PublisherRequired,
    PublishRequestDecided,
)
from modelbay_catalog.curation.records import PublishRequestRecord
from modelbay_catalog.curation.rules import (
    alias_target,
    check_decision,
    check_maintainer,
    may_read_request,
    may_see_request,
    newest_ready,
    settable_alias,
)
from modelbay_catalog.errors import CallerRequired, VersionNotFound, VersionNotReady
from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.records import ModelRecord
from modelbay_common.access import Caller, Membership, OrgRole, Visibility
from modelbay_common.errors import ModelbayError

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = {1: VersionStatus.READY, 2: VersionStatus.READY, 3: VersionStatus.BUILDING}


def _model(owner: str = "acme", visibility: Visibility = Visibility.PRIVATE) -> ModelRecord:
    return ModelRecord(
        id=1,
        owner=owner,
        name="iris",
        owner_org=owner,
        visibility=visibility,
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
        created_at=NOW,
        updated_at=NOW,
    )


REQUEST = PublishRequestRecord(
    id=7,
    model_id=1,
    owner="acme",
    name="iris",
    version=2,
    visibility=Visibility.PUBLIC,
    description="d",
    category="other",
    license="MIT",
    tags=None,
    status="pending",
    requested_by="mia",
    requested_at=NOW,
    decided_by=None,
    decided_at=None,
    comment=None,
)


def _in_acme(user: str, role: OrgRole, **flags: bool) -> Caller:
    return Caller(user=user, memberships=(Membership("acme", role),), **flags)


@pytest.mark.parametrize("alias", ["stable", "prod", "v1.2", "canary-2", "a"])
def test_alias_names_a_maintainer_may_set(alias: str) -> None:
    assert settable_alias(alias) == alias


@pytest.mark.parametrize("alias", ["3", "Stable", "-x", "has space", "x" * 41, "", "a/b"])
def test_alias_names_refused_with_the_name(alias: str) -> None:
    with pytest.raises(InvalidAliasName) as refused:
        settable_alias(alias)
    assert refused.value.extensions["alias"] == alias


def test_latest_is_automatic() -> None:
    with pytest.raises(AliasIsAutomatic):
        settable_alias("latest")


@pytest.mark.parametrize(
    ("caller", "error"),
    [
        (Caller(user="acme"), None),  # (a user namesake cannot exist; the rule still holds)
        (_in_acme("mia", OrgRole.OWNER), None),
        (_in_acme("mia", OrgRole.MAINTAINER), None),
        (Caller(user="root", admin=True), None),
        (_in_acme("rex", OrgRole.READER), MaintainerRequired),
        (Caller(user="pat", publisher=True), MaintainerRequired),
        (Caller(), CallerRequired),
    ],
)
def test_who_moves_aliases(caller: Caller, error: type[ModelbayError] | None) -> None:
    if error is None:
        check_maintainer(caller, _model(), "move the aliases")
    else:
        with pytest.raises(error):
            check_maintainer(caller, _model(), "move the aliases")


def test_an_alias_names_a_ready_version_only() -> None:
    assert alias_target(_model(), 2, STATUSES) == 2
    with pytest.raises(VersionNotReady):
        alias_target(_model(), 3, STATUSES)
    with pytest.raises(VersionNotFound):
        alias_target(_model(), 9, STATUSES)
    assert newest_ready(STATUSES) == 2
    assert newest_ready({1: VersionStatus.FAILED}) is None


@pytest.mark.parametrize(
    ("caller", "request_", "declining", "comment", "error"),
    [
        (Caller(user="pat", publisher=True), REQUEST, False, None, None),
        (Caller(user="root", admin=True), REQUEST, True, "why not", None),
        (Caller(user="pat", publisher=True), REQUEST, True, "  ", CommentRequired),
        (Caller(user="bob"), REQUEST, False, None, PublisherRequired),
        (_in_acme("olga", OrgRole.OWNER), REQUEST, False, None, PublisherRequired),
        (
            _in_acme("mia", OrgRole.MAINTAINER, publisher=True),
            REQUEST,
            False,
            None,
            OwnPublicationRefused,
        ),
        (Caller(user="mia", admin=True), REQUEST, False, None, OwnPublicationRefused),
        (
            Caller(user="pat", publisher=True),
            dataclasses.replace(REQUEST, status="declined"),
            False,
            None,
            PublishRequestDecided,
        ),
        (Caller(publisher=True), REQUEST, False, None, CallerRequired),
    ],
)
def test_who_decides_a_publish_request_and_when(
    caller: Caller,
    request_: PublishRequestRecord,
    declining: bool,
    comment: str | None,
    error: type[ModelbayError] | None,
) -> None:
    def decide() -> None:
        check_decision(caller, _model(), request_, declining=declining, comment=comment)

    if error is None:
        decide()
    else:
        with pytest.raises(error):
            decide()


@pytest.mark.parametrize(
    ("caller", "sees"),
    [
        (Caller(user="pat", publisher=True), True),  # reviews requests of private models
        (Caller(user="root", admin=True), True),
        (Caller(user="mia"), True),  # asked for it
        (_in_acme("olga", OrgRole.OWNER), True),  # sees the model
        (_in_acme("rex", OrgRole.READER), False),  # a private model: not for readers
        (Caller(user="bob"), False),
        (Caller(publisher=True), False),
    ],
)
def test_who_sees_a_publish_request(caller: Caller, sees: bool) -> None:
    assert may_see_request(caller, _model(), REQUEST) is sees


@pytest.mark.parametrize(
    ("caller", "reads"),
    [
        (Caller(user="pat", publisher=True), True),
        (Caller(user="root", admin=True), True),
        (Caller(user="mia"), True),  # asked for it
        (_in_acme("olga", OrgRole.OWNER), True),
        (_in_acme("max", OrgRole.MAINTAINER), True),  # may ask for publication
        (_in_acme("rex", OrgRole.READER), False),  # sees the org model, not its requests
        (Caller(user="bob"), False),  # sees the public model, not its requests
        (Caller(publisher=True), False),
    ],
)
def test_who_reads_a_publish_request_of_a_visible_model(caller: Caller, reads: bool) -> None:
    for visibility in (Visibility.ORG, Visibility.PUBLIC):
        assert may_read_request(caller, _model(visibility=visibility), REQUEST) is reads
