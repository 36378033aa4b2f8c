"""What the gateway sends onboarding when a solution is pushed (`POST /internal/solutions/...`).

The gateway alone may ask the catalog about the nodes *as the pusher* (internal services do not
call each other), so it gathers the facts; onboarding decides on them (docs/solutions.md): a
node must be a version the pusher may see and `ready`, and every connection must type-check.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class NodeVersionFacts(BaseModel):
    """What the catalog answered about one node's model version, asked as the pusher.

    `visible` is false when the catalog answered 404: the version does not exist, was deleted,
    or the pusher may not see it (the catalog does not say which, and neither does the refusal).
    """

    model_config = ConfigDict(frozen=True)

    owner: str
    name: str
    version: int
    visible: bool
    status: str | None = None
    failure_reason: str | None = None
    image_ref: str | None = None
    image_digest: str | None = None
    bundle_uri: str | None = Field(default=None, description="blob key of the version's bundle")
    bundle_sha256: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}:{self.version}"


class SolutionSubmission(BaseModel):
    """The pushed document (as the pusher wrote it, JSON or YAML parsed) and, per model version
    it names (`owner/name:version`), the catalog's facts."""

    document: dict[str, Any]
    versions: dict[str, NodeVersionFacts] = Field(
        description="keyed by `owner/name:version` as the document's nodes write it"
    )
