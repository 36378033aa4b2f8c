"""Events of federation: mirroring public versions of a peer instance (docs/federation.md).

The catalog of this instance (B) owns peers, subscriptions and the sync loop; it asks the
builder to copy one version of a peer (A) with `MirrorRequested`, and the builder answers with
`VersionMirrored` or `MirrorFailed`. No secret travels on the bus: the builder fetches the peer's
token from the catalog's internal credentials route for each job.
"""

from __future__ import annotations

import re
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from modelbay_common.artifacts import ArtifactKind
from modelbay_common.events.base import Event, EventPayload

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_MANIFEST_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


class MirroredArtifact(BaseModel):
    """One downloadable artifact of a version on the origin: what to fetch and how to check it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: str  # an ArtifactKind value
    sha256: str
    size: int = Field(ge=0)
    url: str = Field(min_length=1)  # absolute download URL on the origin's /v1

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        if value not in {kind.value for kind in ArtifactKind}:
            known = ", ".join(kind.value for kind in ArtifactKind)
            raise ValueError(f"unknown artifact kind {value!r}; known kinds: {known}")
        return value

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str) -> str:
        if not _SHA256_HEX.fullmatch(value):
            raise ValueError("sha256 must be 64 lowercase hex characters")
        return value


class _OriginCoordinates(Event):
    """Where a mirrored version comes from; `owner/name/version` are the LOCAL coordinates."""

    peer: str = Field(min_length=1)  # the peer's name on this instance
    origin_url: str = Field(min_length=1)  # the peer's gateway base URL
    origin_owner: str = Field(min_length=1)
    origin_name: str = Field(min_length=1)
    origin_version: int = Field(ge=1)


class MirrorRequested(_OriginCoordinates):
    """Sent by the catalog when a subscribed version of a peer should be copied here.

    The builder downloads the artifacts (checking sha256 and size), verifies the origin's cosign
    signature of `image_digest` against `trusted_keys` before storing anything, copies the image
    registry to registry by digest and answers with `VersionMirrored` or `MirrorFailed`.
    """

    type: ClassVar[str] = "modelbay.federation.mirror_requested.v1"

    origin_registry: str = Field(min_length=1)  # host:port of the origin's registry
    image_repository: str = Field(min_length=1)  # repository path there, e.g. "alice/iris"
    image_digest: str  # "sha256:<hex>" of the manifest
    artifacts: tuple[MirroredArtifact, ...] = ()
    trusted_keys: tuple[str, ...] = ()  # PEM public keys pinned for this peer on this instance

    @field_validator("image_digest")
    @classmethod
    def _manifest_digest(cls, value: str) -> str:
        if not _MANIFEST_DIGEST.fullmatch(value):
            raise ValueError("image_digest must be 'sha256:' and 64 lowercase hex characters")
        return value


class VersionMirrored(_OriginCoordinates):
    """Sent by the builder when a mirrored version is copied: image in the local registry,
    artifacts in the local blob store under their normal content-addressed keys."""

    type: ClassVar[str] = "modelbay.federation.version_mirrored.v1"

    image_ref: str = Field(min_length=1)  # local registry reference, by digest
    image_digest: str
    verified_key_id: str  # the origin key that verified the signature
    artifacts: tuple[MirroredArtifact, ...] = ()  # now in the local blob store (url = origin's)

    @field_validator("image_digest")
    @classmethod
    def _manifest_digest(cls, value: str) -> str:
        if not _MANIFEST_DIGEST.fullmatch(value):
            raise ValueError("image_digest must be 'sha256:' and 64 lowercase hex characters")
        return value


class MirrorFailed(_OriginCoordinates):
    """Sent by the builder when a version could not be mirrored, saying why.

    `retryable` is True for causes that may pass by themselves (network, 5xx of the origin) and
    False for those that will not (signature or digest mismatch); the catalog's sync loop retries
    the retryable ones with back-off.
    """

    type: ClassVar[str] = "modelbay.federation.mirror_failed.v1"

    reason: str = Field(min_length=1)  # one sentence naming the cause
    detail: str | None = None
    retryable: bool


class PeerSynced(EventPayload):
    """Sent by the catalog after each sync with a peer: how far it read the peer's changes feed,
    how many versions it asked to mirror and withdrew, and the error when the sync failed."""

    type: ClassVar[str] = "modelbay.federation.peer_synced.v1"

    peer: str = Field(min_length=1)
    cursor: str
    requested: int = Field(ge=0)
    withdrawn: int = Field(ge=0)
    error: str | None = None

    @property
    def subject(self) -> str:
        """The CloudEvents `subject`: `peers/<peer>`."""
        return f"peers/{self.peer}"
