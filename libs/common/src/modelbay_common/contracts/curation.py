"""Aliases and publish requests: the bodies the gateway sends the catalog and what it answers.

The gateway's `/v1` shows the same shapes (docs/api.md, "Aliases" and "Publish approval").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from modelbay_common.access import Visibility

__all__ = [
    "ALIAS_PATTERN",
    "LATEST_ALIAS",
    "Alias",
    "AliasBody",
    "AliasList",
    "DecisionBody",
    "PublishRequest",
    "PublishRequestPage",
    "PublishRequestStatus",
    "is_alias_name",
]

LATEST_ALIAS = "latest"
"""Names the newest `ready` version by itself; it cannot be set, moved or removed."""

# A letter first: `3` is a version number, never an alias; short and URL-safe (it is a path
# segment and the `@stable` of `owner/name@stable`).
ALIAS_PATTERN = r"^[a-z][a-z0-9._-]{0,39}$"
_ALIAS = re.compile(ALIAS_PATTERN)

PublishRequestStatus = Literal["pending", "approved", "declined"]


def is_alias_name(text: str) -> bool:
    return bool(_ALIAS.match(text))


class AliasBody(BaseModel):
    """`PUT /aliases/{alias}`: the version the alias names from now on (it must be ready)."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, le=2**31 - 1)


class Alias(BaseModel):
    """An alias of a model and the version it names."""

    alias: str
    version: int
    automatic: bool = Field(description="true for `latest`: the newest ready version, not set")
    moved_by: str | None = None
    moved_at: datetime | None = None


class AliasList(BaseModel):
    owner: str
    name: str
    aliases: list[Alias]


class DecisionBody(BaseModel):
    """Approving (comment optional) or declining (comment required) a publish request."""

    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=2000)


class PublishRequest(BaseModel):
    """A publication to `public` waiting for (or decided by) a publisher."""

    id: int
    owner: str
    name: str
    version: int
    visibility: Visibility
    description: str
    category: str
    license: str
    tags: list[str] | None
    status: PublishRequestStatus
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None


class PublishRequestPage(BaseModel):
    items: list[PublishRequest]
