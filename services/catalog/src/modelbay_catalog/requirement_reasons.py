"""Pairs a version's requirements with the reasons ModelUploaded gave for them.

The event keys reasons by canonical distribution name (PEP 503: `Pillow` → `pillow`), the
version lists requirements as written (`Pillow==10.4.0`); the detail shows them together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from modelbay_common.contracts.requirement_reasons import RequirementReasonsItem

# A PEP 508 requirement starts with its distribution name; onboarding checked each one.
_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def canonical_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    name = match.group(1) if match else requirement.strip()
    return re.sub(r"[-_.]+", "-", name).lower()


def stored_reasons(reasons: Mapping[str, Iterable[str]]) -> tuple[dict[str, Any], ...]:
    """The event's reasons as the version's JSONB column keeps them: [{name, reasons}]."""
    return tuple({"name": name, "reasons": list(texts)} for name, texts in reasons.items())


def requirement_items(
    requirements: Iterable[str], stored: Iterable[Mapping[str, Any]]
) -> list[RequirementReasonsItem]:
    """One item per requirement, in order; empty for a version stored before reasons were."""
    by_name = {str(entry["name"]): [str(r) for r in entry.get("reasons", ())] for entry in stored}
    if not by_name:
        return []
    return [
        RequirementReasonsItem(requirement=text, reasons=by_name.get(canonical_name(text), []))
        for text in requirements
    ]
