"""Events of aliases and publish approval (docs/events.md, "Curation events")."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from modelbay_common.events.base import Event


class AliasMoved(Event):
    """Sent by the catalog when a maintainer points an alias (`stable`, ...) at a version.

    `version` is the version the alias names now, `previous_version` the one it named before
    (null when the alias is new). `latest` is never sent: it always names the newest ready
    version by itself.
    """

    type: ClassVar[str] = "modelbay.model.alias_moved.v1"

    alias: str = Field(min_length=1)
    previous_version: int | None = Field(default=None, ge=1)
    moved_by: str


class AliasRemoved(Event):
    """Sent by the catalog when a maintainer removes an alias; `version` is the one it named."""

    type: ClassVar[str] = "modelbay.model.alias_removed.v1"

    alias: str = Field(min_length=1)
    removed_by: str


class PublishRequested(Event):
    """Sent by the catalog when a publication to `public` waits for a publisher's approval
    (the catalog's `PUBLISH_APPROVAL=required`); `version` is the version to publish."""

    type: ClassVar[str] = "modelbay.model.publish_requested.v1"

    request_id: int = Field(ge=1)
    visibility: Literal["public", "org", "private"]
    requested_by: str


class PublishApproved(Event):
    """Sent by the catalog when a publisher approves a publish request; `Published` follows in
    the same transaction."""

    type: ClassVar[str] = "modelbay.model.publish_approved.v1"

    request_id: int = Field(ge=1)
    requested_by: str
    approved_by: str
    comment: str | None = None


class PublishDeclined(Event):
    """Sent by the catalog when a publisher declines a publish request, saying why."""

    type: ClassVar[str] = "modelbay.model.publish_declined.v1"

    request_id: int = Field(ge=1)
    requested_by: str
    declined_by: str
    comment: str


class ModelDeleted(Event):
    """Sent by the catalog when the owner, a maintainer of the owning organisation or an
    administrator deletes a model (`DELETE /v1/models/{owner}/{name}`).

    A soft delete: from now on the model and every version of it answer 404 and no search lists
    it; its name is not reused. `version` is the newest version, `versions` every version
    number deleted with it, and `image_refs` the registry images
    they were built into (by digest where known): what a federation peer withdraws and what
    the artifact garbage collector may reclaim (bundles and wheelhouses are content-addressed
    and may be shared, so the collector checks references before deleting a blob).
    """

    type: ClassVar[str] = "modelbay.model.deleted.v1"

    versions: tuple[int, ...] = ()
    image_refs: tuple[str, ...] = ()
    bundle_uris: tuple[str, ...] = ()
    visibility: Literal["public", "org", "private"]
    kind: Literal["model", "solution"] = "model"
    deleted_by: str
