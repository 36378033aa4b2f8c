"""Where a mirrored model or version comes from (docs/federation.md): a field of the catalog's
model and version answers, declared apart so that `catalog.py` and `federation.py` both use it."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["MirrorStateName", "ModelOrigin"]

MirrorStateName = Literal["requested", "ready", "failed", "withdrawn"]


class ModelOrigin(BaseModel):
    """Where a mirrored model (or version) comes from; null on a model of this instance."""

    peer: str = Field(description="the peer's name on this instance")
    url: str = Field(description="the peer gateway's base URL")
    owner: str
    name: str
    version: int | None = Field(default=None, description="on a version: its number there")
    state: MirrorStateName | None = Field(
        default=None, description="on a version: requested, ready, failed or withdrawn"
    )
    reason: str | None = Field(default=None, description="why mirroring it failed")
    withdrawn: bool = Field(default=False, description="the peer withdrew the model")
    web_url: str | None = Field(default=None, description="the model's page on the peer")
