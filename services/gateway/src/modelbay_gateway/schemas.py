"""Bodies of the public `/v1` API (separate from rows, records and the internal APIs' bodies).

Catalog answers are relayed with the fields documented here; fields the catalog adds later pass
through (`extra="allow"`), so the gateway need not change for every new piece of metadata.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from modelbay_common.artifacts import ArtifactKind
from modelbay_common.refs import is_local_process_ref, served_url
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from modelbay_gateway.records import IssuedToken, TokenInfo, User

NAME_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=64)]
TokenName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class UserIn(BaseModel):
    """`POST /v1/users` (administrators): a new account and its first token."""

    model_config = ConfigDict(extra="forbid")

    username: Name = Field(description="namespace of the user's models: lowercase, digits, . _ -")
    org: Name | None = Field(default=None, description="organisation, for `org` visibility")
    is_admin: bool = False
    token_name: TokenName = "default"


class UserOut(BaseModel):
    username: str
    org: str | None
    is_admin: bool
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            username=user.username, org=user.org, is_admin=user.is_admin, created_at=user.created_at
        )


class MeOut(UserOut):
    token_id: uuid.UUID = Field(description="the token this request was made with")


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: TokenName = Field(description="what the token is for, e.g. 'laptop' or 'ci'")


class TokenOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="the first characters of the secret, to tell tokens apart")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: TokenInfo) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class IssuedTokenOut(TokenOut):
    token: str = Field(description="the secret; shown only in this answer, store it now")

    @classmethod
    def issued(cls, issued: IssuedToken) -> IssuedTokenOut:
        return cls(**TokenOut.of(issued.info).model_dump(), token=issued.secret)


class UserCreatedOut(BaseModel):
    user: UserOut
    token: IssuedTokenOut


class PushAcceptedOut(BaseModel):
    owner: str
    name: str
    version: int
    status: str = Field(description="'uploaded'; follow status_url until 'ready' or 'failed'")
    status_url: str


class PublishIn(BaseModel):
    """`POST /v1/models/{owner}/{name}/publish` (the owner or an administrator)."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1, description="default: newest ready version")
    visibility: str = Field(default="public", description="public, org or private")
    description: str = Field(min_length=1, max_length=10_000)
    category: str = Field(
        description="classification, regression, clustering, nlp, vision, audio, time-series, "
        "recommendation, anomaly-detection or other"
    )
    license: str = Field(min_length=1, max_length=200, description="e.g. MIT or Apache-2.0")
    tags: list[str] | None = Field(default=None, description="replaces the tags; omit to keep")


class ModelOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    owner: str
    name: str
    visibility: str
    description: str = ""
    category: str | None = None
    license: str | None = None
    tags: list[str] = []
    libraries: list[str] = []
    latest_version: int | None = None
    latest_status: str | None = None
    published_version: int | None = None
    downloads: int = 0


class ModelPageOut(BaseModel):
    items: list[ModelOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null: last")


class ModelDetailOut(ModelOut):
    versions: list[dict[str, Any]] = Field(
        description="per version: version, status, failure_reason, image_ref, image_digest"
    )


class VersionOut(BaseModel):
    """A version's state, as the catalog records it, plus what a user does next with it."""

    model_config = ConfigDict(extra="allow")

    owner: str
    name: str
    version: int
    status: str = Field(description="uploaded, resolving, building, ready or failed")
    reason: str | None = Field(default=None, description="why it failed, in actionable words")
    image_ref: str | None = None
    image_digest: str | None = None
    pull_command: str | None = Field(default=None, description="`docker pull ...` once ready")
    serve_url: str | None = Field(
        default=None,
        description="where the model answers when the embedded mode serves it as a local "
        "process (no Docker engine; image_ref `local-process://...`); no image to pull then",
    )
    failure: dict[str, Any] | None = None
    image: dict[str, Any] | None = None
    interface: dict[str, Any] = {}
    links: dict[str, str] = Field(default_factory=dict, description="status and downloads")

    @classmethod
    def of(cls, detail: dict[str, Any], base_path: str) -> VersionOut:
        failure = detail.get("failure") if isinstance(detail.get("failure"), dict) else None
        image = detail.get("image") if isinstance(detail.get("image"), dict) else None
        links = {"self": base_path} | {kind.value: f"{base_path}/{kind}" for kind in ArtifactKind}
        return cls.model_validate(
            {
                **detail,
                "reason": failure.get("reason") if failure else None,
                "image_ref": image.get("ref") if image else None,
                "image_digest": image.get("digest") if image else None,
                **_pull_or_serve(image),
                "links": links,
            }
        )


def _pull_or_serve(image: dict[str, Any] | None) -> dict[str, str | None]:
    """A registry image has a `docker pull` line; a local-process one (embedded mode without
    Docker, see docs/builder.md) has no image, only the URL its server answers at."""
    ref = image.get("ref") if image else None
    if isinstance(ref, str) and is_local_process_ref(ref):
        return {"pull_command": None, "serve_url": served_url(ref)}
    return {"pull_command": image.get("pull_command") if image else None, "serve_url": None}
