"""Bodies of the public `/v1` API (separate from rows, records and the internal APIs' bodies).

Catalog answers are the shared contract (`modelbay_common.contracts.catalog`): the gateway parses
them into those classes and answers with them (or, for a version, a subclass that adds what a
user does next), so the public OpenAPI shows the same shapes the catalog documents.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from modelbay_common.access import OrgRole, Visibility
from modelbay_common.api_params import INT32_MAX
from modelbay_common.artifacts import ArtifactKind
from modelbay_common.contracts.catalog import Category, VersionDetail
from modelbay_common.deployment import DeployKind
from modelbay_common.refs import is_local_process_ref, served_url
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from modelbay_gateway.clients.links import ClientPackageLink, client_links
from modelbay_gateway.records import IssuedToken, TokenInfo, User

NAME_PATTERN = r"^[a-z0-9]+(?:[._-][a-z0-9]+)*$"
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=64)]


def _printable(value: str) -> str:
    # A NUL (Postgres refuses it in text) or a lone surrogate (not UTF-8) was a 500 at insert,
    # found by the abuse suite's fuzzing; no control character belongs in a token's name.
    if not value.isprintable():
        raise ValueError("a token name holds printable characters only (no control characters)")
    return value


TokenName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(_printable),
]


class UserIn(BaseModel):
    """`POST /v1/users` (administrators): a new account and its first token."""

    model_config = ConfigDict(extra="forbid")

    username: Name = Field(description="namespace of the user's models: lowercase, digits, . _ -")
    org: Name | None = Field(default=None, description="organisation, for `org` visibility")
    is_admin: bool = False
    is_publisher: bool = Field(default=False, description="may decide publish requests")
    token_name: TokenName = "default"


class UserOut(BaseModel):
    username: str
    org: str | None
    is_admin: bool
    is_publisher: bool = False
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            username=user.username,
            org=user.org,
            is_admin=user.is_admin,
            is_publisher=user.is_publisher,
            created_at=user.created_at,
        )


class MembershipOut(BaseModel):
    org: str
    role: OrgRole


class MeOut(UserOut):
    token_id: uuid.UUID = Field(description="the token this request was made with")
    orgs: list[MembershipOut] = Field(default=[], description="organisations and roles")


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

    version: int | None = Field(
        default=None, ge=1, le=INT32_MAX, description="default: newest ready version"
    )
    visibility: Visibility = Field(default=Visibility.PUBLIC, description="who may see it")
    description: str = Field(min_length=1, max_length=10_000)
    category: Category = Field(description="browsing by category; `other` catches the rest")
    license: str = Field(min_length=1, max_length=200, description="e.g. MIT or Apache-2.0")
    tags: list[str] | None = Field(default=None, description="replaces the tags; omit to keep")


class VersionOut(VersionDetail):
    """A version as the catalog records it, plus what a user does next with it: the flat
    `reason`, `image_ref`, `pull_command` or `serve_url`, and the links to its downloads."""

    reason: str | None = Field(description="why it failed, in actionable words")
    image_ref: str | None
    image_digest: str | None
    pull_command: str | None = Field(description="`docker pull ...` once ready")
    serve_url: str | None = Field(
        description="where the model answers when the embedded mode serves it as a local "
        "process (no Docker engine; image_ref `local-process://...`); no image to pull then",
    )
    links: dict[str, str] = Field(
        description="`self`, one download per artifact kind, and the deployment artifacts "
        "(`deploy-compose`, `deploy-kustomize`)"
    )
    clients: dict[str, ClientPackageLink] = Field(
        description="generated client packages by language, each with the snippet to install "
        "and call it (docs/clients.md)"
    )

    @classmethod
    def of(cls, detail: VersionDetail, base_path: str) -> VersionOut:
        image = detail.image
        ref = image.ref if image else None
        # A local-process "image" (embedded mode without Docker, docs/builder.md) has nothing
        # to pull, only the URL its server answers at.
        pull = None if image is None or is_local_process_ref(ref) else image.pull_command
        links = (
            {"self": base_path}
            | {kind.value: f"{base_path}/{kind}" for kind in ArtifactKind}
            # Deployment artifacts (api_deploy.py): `deploy-compose`, `deploy-kustomize`.
            | {f"deploy-{kind.value}": f"{base_path}/deploy/{kind}" for kind in DeployKind}
        )
        return cls(
            **dict(detail),
            reason=detail.failure.reason if detail.failure else None,
            image_ref=ref,
            image_digest=image.digest if image else None,
            pull_command=pull,
            serve_url=served_url(ref),
            links=links,
            clients=client_links(detail, base_path),
        )
