"""`modelbay push` reports the interface diff the catalog recorded (interface_report.py), from
the version the platform answers; a fake platform stands in through httpx's MockTransport."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from modelbay.cli_push import print_interface_report
from modelbay.interface_report import (
    MAX_LISTED_CHANGES,
    InterfaceReport,
    wait_for_interface_report,
)
from modelbay.session import PushResult, Session

RESULT = PushResult("alice", "adder", 2, "uploaded", "http://platform.test/v1/models/x")
REMOVED = {
    "kind": "field_removed",
    "classification": "breaking",
    "message": "add: input field y (double, 2) removed",
}
ADDED = {
    "kind": "field_added",
    "classification": "additive",
    "message": "add: input field z (double, 3) added",
}


def diff(*changes: dict[str, Any]) -> dict[str, Any]:
    breaking = sum(change["classification"] == "breaking" for change in changes)
    return {
        "compared_to": 1,
        "breaking": breaking > 0,
        "breaking_changes": breaking,
        "additive_changes": len(changes) - breaking,
        "changes": list(changes),
    }


class Platform:
    """Answers 404 a few times (the catalog has not recorded the upload yet), then the version."""

    def __init__(self, version: dict[str, Any] | None, not_yet: int = 0) -> None:
        self.version, self.not_yet, self.calls = version, not_yet, 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/models/alice/adder/versions/2"
        assert request.headers["authorization"] == "Bearer mb_token"
        self.calls += 1
        if self.version is None or self.calls <= self.not_yet:
            return httpx.Response(404, json={"title": "Model not found", "status": 404})
        return httpx.Response(200, json=self.version)


def report_from(platform: Platform, timeout: float = 5.0) -> InterfaceReport:
    session = Session("http://platform.test", "mb_token", transport=httpx.MockTransport(platform))
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds  # a fake clock: no real waiting in a unit test

    return wait_for_interface_report(
        session, RESULT, timeout=timeout, sleep=sleep, clock=lambda: now[0]
    )


def recorded(interface_diff: dict[str, Any] | None) -> dict[str, Any]:
    return {"timings": {"uploaded_at": "2026-12-06T20:00:00Z"}, "interface_diff": interface_diff}


def test_a_breaking_push_is_reported_once_the_catalog_recorded_it() -> None:
    platform = Platform(recorded(diff(REMOVED, ADDED)), not_yet=3)
    report = report_from(platform)

    assert report.recorded
    assert report.diff is not None
    assert report.diff.summary() == (
        "interface changed: 1 breaking change(s): add: input field y (double, 2) removed"
    )
    assert platform.calls == 4


def test_additive_changes_only_and_no_changes() -> None:
    additive = report_from(Platform(recorded(diff(ADDED)))).diff
    assert additive is not None
    assert additive.summary() == (
        "interface changed since version 1: 1 additive change(s): "
        "add: input field z (double, 3) added"
    )
    assert report_from(Platform(recorded(diff()))).diff is None
    first_version = report_from(Platform(recorded(None)))
    assert first_version.recorded
    assert first_version.diff is None


def test_a_long_list_is_cut_and_counted() -> None:
    many = [dict(REMOVED, message=f"removed {index}") for index in range(8)]
    report = report_from(Platform(recorded(diff(*many)))).diff
    assert report is not None
    assert report.summary().endswith(f"removed {MAX_LISTED_CHANGES - 1}; and 3 more")


def test_nothing_known_when_the_catalog_is_too_slow_or_it_is_a_directory() -> None:
    assert report_from(Platform(None), timeout=1.0) == InterfaceReport(recorded=False, diff=None)
    stored = PushResult(None, "adder", 1, "stored", "file:///tmp/adder-1.tar.gz")
    session = Session("file:///tmp", "mb_token")
    assert not wait_for_interface_report(session, stored, timeout=1).recorded


def test_the_cli_says_when_a_push_breaks_the_interface(capsys: pytest.CaptureFixture[str]) -> None:
    report = report_from(Platform(recorded(diff(REMOVED))))
    print_interface_report(report, RESULT.status_url)
    assert "interface changed: 1 breaking change(s): add: input field y" in capsys.readouterr().out
    print_interface_report(InterfaceReport(recorded=False, diff=None), RESULT.status_url)
    assert "not known yet" in capsys.readouterr().out
