"""The vocabulary of a model's metadata: categories, tags, library names (pure: no I/O).

Who may see and change a model is the shared rule in `modelbay_common.access`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from modelbay_common.contracts.catalog import Category

__all__ = ["Category", "library_names", "normalize_package_name", "normalize_tags"]


MAX_TAGS = 20
MAX_TAG_LENGTH = 50
_TAG = re.compile(r"^[a-z0-9][a-z0-9._+-]*$")
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalize_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Lower-case, trimmed, de-duplicated tags in their given order; ValueError names a bad one."""
    normalized: dict[str, None] = {}
    for raw in tags:
        tag = raw.strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH or not _TAG.match(tag):
            raise ValueError(
                f"tag {raw!r} is not valid: use at most {MAX_TAG_LENGTH} lower-case letters, "
                "digits and . _ + - (starting with a letter or digit)"
            )
        normalized[tag] = None
    if len(normalized) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags are allowed, got {len(normalized)}")
    return tuple(normalized)


def normalize_package_name(name: str) -> str:
    """PEP 503 normalisation: `Scikit_Learn` and `scikit-learn` are the same library."""
    return re.sub(r"[-_.]+", "-", name).lower()


def library_names(requirements: Iterable[str]) -> tuple[str, ...]:
    """The distribution names of pinned requirements (`scikit-learn==1.5.2` → `scikit-learn`)."""
    names: dict[str, None] = {}
    for requirement in requirements:
        match = _REQUIREMENT_NAME.match(requirement)
        if match:
            names[normalize_package_name(match.group(1))] = None
    return tuple(sorted(names))
