"""Federation: the bodies of `/v1/admin/peers`, the changes feed and a mirrored model's origin.

The gateway sends the catalog the admin bodies and relays its answers; the changes feed is what
one instance's gateway answers and another instance's catalog reads (docs/federation.md), so both
sides parse these classes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from modelbay_common.contracts.catalog import InterfaceMethod, VersionDetail
from modelbay_common.contracts.origin import MirrorStateName, ModelOrigin
from modelbay_common.events.federation import MirroredArtifact

__all__ = [
    "ChangeAction",
    "ChangeEntry",
    "ChangesPage",
    "FeedEntry",
    "FeedPage",
    "MirrorCounts",
    "MirrorStateName",
    "MirroredArtifact",
    "ModelOrigin",
    "PeerBody",
    "PeerCredentials",
    "PeerKey",
    "PeerList",
    "PeerOut",
    "PeerStatus",
    "PeerUpdateBody",
    "SubscriptionBody",
    "SyncOutcome",
]

ChangeAction = Literal["published", "withdrawn"]

_NAME = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_VALUE = r"^[a-z0-9][a-z0-9._+-]*$"


class SubscriptionBody(BaseModel):
    """Which public models of the peer to mirror: all, or those matching any value listed."""

    model_config = ConfigDict(extra="forbid")

    all: bool = Field(default=False, description="every public model of the peer")
    owners: list[str] = Field(default_factory=list, max_length=100)
    categories: list[str] = Field(default_factory=list, max_length=100)
    tags: list[str] = Field(default_factory=list, max_length=100)


class PeerBody(BaseModel):
    """`POST /v1/admin/peers`: register a peer (its keys are fetched and pinned at once)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, max_length=40, pattern=_NAME, description="this instance's name for it"
    )
    url: str = Field(min_length=8, max_length=2000, description="the peer gateway's base URL")
    token: str = Field(
        min_length=1,
        max_length=1000,
        description="an API token of an account on the peer, issued by its administrator",
    )
    subscriptions: SubscriptionBody = Field(default_factory=SubscriptionBody)


class PeerUpdateBody(BaseModel):
    """`PATCH /v1/admin/peers/{peer}`: change the subscriptions, the URL or the token."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=8, max_length=2000)
    token: str | None = Field(default=None, min_length=1, max_length=1000)
    subscriptions: SubscriptionBody | None = None


class PeerKey(BaseModel):
    key_id: str
    pem: str


class PeerStatus(BaseModel):
    cursor: str = Field(description="how far this instance has read the peer's changes feed")
    last_success_at: datetime | None
    last_error: str | None = Field(description="why the last sync failed; null after a success")
    last_error_at: datetime | None
    next_attempt_at: datetime = Field(description="when the sync loop reads the feed next")
    consecutive_failures: int


class MirrorCounts(BaseModel):
    requested: int = 0
    ready: int = 0
    failed: int = 0
    withdrawn: int = 0


class PeerOut(BaseModel):
    """A peer as administrators see it (never its token)."""

    name: str
    url: str
    subscriptions: SubscriptionBody
    keys: list[PeerKey] = Field(description="the peer's public keys pinned on this instance")
    keys_fetched_at: datetime | None
    status: PeerStatus
    mirrors: MirrorCounts
    last_mirror_failure: str | None = Field(
        default=None, description="the reason of the newest failed mirror of this peer"
    )
    created_by: str
    created_at: datetime


class PeerList(BaseModel):
    items: list[PeerOut]


class SyncOutcome(BaseModel):
    """What one sync with a peer did (`POST /v1/admin/peers/{peer}/sync`)."""

    peer: str
    cursor: str
    requested: int = Field(description="versions asked to be mirrored")
    withdrawn: int = Field(description="models withdrawn because the peer withdrew them")
    retried: int = Field(default=0, description="failed mirrors asked again")
    error: str | None = Field(default=None, description="why the sync failed; null on success")


class PeerCredentials(BaseModel):
    """`GET /internal/federation/peers/{peer}/credentials` (signed internal calls only)."""

    url: str
    token: str


class ChangeEntry(BaseModel):
    """One entry of the catalog's internal changes feed; the gateway makes a `FeedEntry` of it."""

    cursor: str
    action: ChangeAction
    owner: str
    name: str
    version: int | None
    description: str = ""
    category: str | None = None
    license: str | None = None
    tags: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    detail: VersionDetail | None = Field(default=None, description="for `published` entries")


class ChangesPage(BaseModel):
    entries: list[ChangeEntry]
    next_cursor: str = Field(description="pass as `after` for the next page")
    has_more: bool


class FeedEntry(BaseModel):
    """One entry of `GET /v1/federation/changes`: what a peer needs to list and mirror a
    version (`published`), or to hide a model it mirrors (`withdrawn`, `version` null)."""

    model_config = ConfigDict(extra="ignore")

    cursor: str
    action: ChangeAction
    owner: str
    name: str
    version: int | None = None
    description: str = ""
    category: str | None = None
    license: str | None = None
    tags: list[str] = Field(default_factory=list)
    published_at: datetime | None = None
    python_version: str | None = None
    requirements: list[str] = Field(default_factory=list)
    methods: list[InterfaceMethod] = Field(default_factory=list)
    uploaded_by: str | None = None
    registry: str | None = Field(default=None, description="host:port of the image's registry")
    image_repository: str | None = Field(default=None, description="e.g. `alice/iris`")
    image_digest: str | None = Field(default=None, description="`sha256:<hex>` of the manifest")
    artifacts: list[MirroredArtifact] = Field(
        default_factory=list,
        description="downloadable artifacts with SHA-256, size and their absolute URL here",
    )


class FeedPage(BaseModel):
    entries: list[FeedEntry]
    next_cursor: str = Field(description="pass as `after` for the next page")
    has_more: bool
