"""What a push changed in the model's interface, as the platform's catalog recorded it.

    report = wait_for_interface_report(session, result, timeout=10)
    if report.diff is not None and report.diff.breaking:
        print(report.diff.summary())   # interface changed: 1 breaking change(s): ...

The catalog compares each version's descriptor set with the previous version's when it records
the upload (docs/interface-diff.md), a moment after the push was accepted: this polls
`GET /v1/models/{owner}/{name}/versions/{version}` until the version is recorded or the time
is up. The SDK reads the JSON itself: it does not import the server's contract classes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from modelbay.session import PushResult, Session

POLL_SECONDS = 0.25
MAX_LISTED_CHANGES = 5  # a push's output stays readable; the API has the full list


@dataclass(frozen=True)
class InterfaceDiffReport:
    compared_to: int
    breaking: bool
    breaking_changes: int
    additive_changes: int
    breaking_messages: tuple[str, ...]
    additive_messages: tuple[str, ...]

    @classmethod
    def from_json(cls, diff: Mapping[str, Any]) -> InterfaceDiffReport:
        changes = list(diff.get("changes") or [])
        return cls(
            compared_to=int(diff["compared_to"]),
            breaking=bool(diff["breaking"]),
            breaking_changes=int(diff["breaking_changes"]),
            additive_changes=int(diff["additive_changes"]),
            breaking_messages=_messages(changes, "breaking"),
            additive_messages=_messages(changes, "additive"),
        )

    def summary(self) -> str:
        """One line: the breaking changes if any (what a caller must know), else the additions."""
        if self.breaking:
            listed = _listed(self.breaking_messages, self.breaking_changes)
            return f"interface changed: {self.breaking_changes} breaking change(s): {listed}"
        listed = _listed(self.additive_messages, self.additive_changes)
        return (
            f"interface changed since version {self.compared_to}: "
            f"{self.additive_changes} additive change(s): {listed}"
        )


@dataclass(frozen=True)
class InterfaceReport:
    recorded: bool
    """Whether the catalog recorded the version in time; False: nothing is known yet."""
    diff: InterfaceDiffReport | None
    """None when recorded: the first version, an unchanged interface or one not comparable."""


def wait_for_interface_report(
    session: Session,
    result: PushResult,
    *,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> InterfaceReport:
    """The interface diff the catalog recorded for the pushed version, waiting up to `timeout`
    seconds for the catalog to record the upload."""
    if result.owner is None or result.status == "stored":
        return InterfaceReport(recorded=False, diff=None)  # a directory, not a platform
    deadline = clock() + timeout
    while True:
        version = session.version(result.owner, result.name, result.version)
        if version is not None and (version.get("timings") or {}).get("uploaded_at"):
            diff = version.get("interface_diff")
            report = None if not diff else InterfaceDiffReport.from_json(diff)
            if report is not None and report.breaking_changes + report.additive_changes == 0:
                report = None
            return InterfaceReport(recorded=True, diff=report)
        if clock() >= deadline:
            return InterfaceReport(recorded=False, diff=None)
        sleep(POLL_SECONDS)


def _messages(changes: list[Mapping[str, Any]], classification: str) -> tuple[str, ...]:
    return tuple(
        str(change.get("message", ""))
        for change in changes
        if change.get("classification") == classification
    )


def _listed(messages: tuple[str, ...], total: int) -> str:
    shown = "; ".join(messages[:MAX_LISTED_CHANGES])
    more = total - min(len(messages), MAX_LISTED_CHANGES)
    return f"{shown}; and {more} more" if more > 0 else shown
