"""Why each Python requirement of a version is there (docs/catalog.md), as the version shows it.

Onboarding sends the reasons the SDK wrote into the bundle's manifest in
`ModelUploaded.requirement_reasons`; the catalog stores them on the version and answers them in
its detail, one item per requirement, in the order of `requirements`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class RequirementReasonsItem(BaseModel):
    """One requirement of a version and why it was inferred."""

    requirement: str = Field(
        description="the requirement as in `requirements`, e.g. `pillow==10.4.0`"
    )
    reasons: list[str] = Field(
        default_factory=list,
        description="what the SDK traced or found imported (e.g. `traced object "
        "PIL.Image.Image`), or `declared` for one the contributor listed; at most 5",
    )
