"""API models of the onboarding service's internal HTTP API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class UploadAccepted(BaseModel):
    """202 answer of POST /internal/uploads/{owner}/{name}."""

    owner: str
    name: str
    version: int
    status: Literal["uploaded"] = "uploaded"
    upload_id: str
    bundle_sha256: str
    warnings: list[str] = []  # e.g. a method without samples: accepted, but checked less


class Health(BaseModel):
    status: Literal["ok"] = "ok"
