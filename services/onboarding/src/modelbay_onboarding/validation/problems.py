"""Collecting the problems of a bundle, so one rejection names all of them at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelbay_onboarding.errors import InvalidBundle

_MAX_LISTED = 50


@dataclass
class BundleProblems:
    """Problems found so far; `where` is a dotted path such as `manifest.samples.classify[0]`."""

    entries: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, message: str) -> None:
        self.entries.append((where, message))

    def raise_if_any(self) -> None:
        if not self.entries:
            return
        first_where, first_message = self.entries[0]
        more = len(self.entries) - 1
        detail = f"{first_where}: {first_message}"
        if more:
            detail += f" (and {more} more problem{'s' if more > 1 else ''}, see 'errors')"
        errors: list[dict[str, Any]] = [
            {"field": where, "message": message} for where, message in self.entries[:_MAX_LISTED]
        ]
        raise InvalidBundle(detail, extensions={"errors": errors})
