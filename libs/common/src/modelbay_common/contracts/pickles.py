"""Administrators' allowances of blocked pickle globals: onboarding keeps them, the gateway's
admin API (`/v1/admin/models/{owner}/{name}/pickle-allowances`) reads and changes them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

# `module.name` as the pickle scan reports it (`module.*` for a whole module).
GLOBAL_NAME_PATTERN = r"^[A-Za-z_][\w.]*\.(\*|[A-Za-z_]\w*)$"
GlobalName = Annotated[str, Field(min_length=3, max_length=300, pattern=GLOBAL_NAME_PATTERN)]


class PickleAllowanceRequest(BaseModel):
    """Allow these blocked globals for one model, and say why (kept with the allowance)."""

    globals: list[GlobalName] = Field(
        min_length=1,
        max_length=50,
        description="exact `module.name` strings from the version's `pickle_scan.blocked`",
    )
    reason: str = Field(min_length=3, max_length=1000, description="why this is safe")


class PickleAllowanceEntry(BaseModel):
    global_name: str
    allowed_by: str
    reason: str
    created_at: datetime


class PickleAllowances(BaseModel):
    """Every allowance of one model, sorted by global."""

    owner: str
    name: str
    allowances: list[PickleAllowanceEntry]
