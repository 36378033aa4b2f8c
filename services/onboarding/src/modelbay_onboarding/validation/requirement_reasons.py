"""Why each requirement of a bundle is there, as the catalog's model page shows it.

The SDK writes `requirement_reasons` into the manifest (`{"pillow": ["traced object
PIL.Image.Image"]}`); the manifest is the contributor's file, so only reasons for requirements
that passed the checks travel, as text, capped (docs/events.md, `ModelUploaded`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from modelbay_common.events.pipeline import MAX_REASON_CHARS, MAX_REASONS_PER_REQUIREMENT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

DECLARED = "declared"
# What the SDK writes for a requirement the contributor listed (`modelbay.deps.infer`).
_SDK_DECLARED = "user request"


def requirement_reasons(
    requirements: tuple[str, ...], manifest_extra: Mapping[str, Any] | None
) -> dict[str, tuple[str, ...]]:
    """Reasons per canonical distribution name, for each checked requirement.

    A requirement the manifest gives no reason for was written by hand: it is `declared`.
    """
    raw = (manifest_extra or {}).get("requirement_reasons")
    given = (
        {canonicalize_name(str(name)): texts for name, texts in raw.items()}
        if isinstance(raw, dict)
        else {}
    )
    reasons: dict[str, tuple[str, ...]] = {}
    for text in requirements:
        # `requirements` passed check_requirements, so each one parses.
        name = canonicalize_name(Requirement(text).name)
        reasons[name] = _capped(given.get(name)) or (DECLARED,)
    return reasons


def _capped(texts: object) -> tuple[str, ...]:
    if not isinstance(texts, list):
        return ()
    kept: list[str] = []
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            continue
        reason = DECLARED if text.strip() == _SDK_DECLARED else " ".join(text.split())
        if len(reason) > MAX_REASON_CHARS:
            reason = reason[: MAX_REASON_CHARS - 1] + "…"
        if reason not in kept:
            kept.append(reason)
        if len(kept) == MAX_REASONS_PER_REQUIREMENT:
            break
    return tuple(kept)
