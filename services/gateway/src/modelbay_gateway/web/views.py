"""Pure helpers that turn API answers into what the templates show (no I/O, unit-tested).

The choices offered by forms (categories, visibilities) mirror the catalog's rules
(docs/catalog.md); the catalog stays the judge: a value it refuses comes back as a field error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CATEGORIES = (
    "classification",
    "regression",
    "clustering",
    "nlp",
    "vision",
    "audio",
    "time-series",
    "recommendation",
    "anomaly-detection",
    "other",
)
VISIBILITIES = (
    ("public", "Public: everyone can find and pull it"),
    ("org", "Organisation: members of your organisation"),
    ("private", "Private: only you and administrators"),
)
# The API's orders (`sort`); relevance needs words to rank by.
SORTS = (
    ("", "Best match"),
    ("recent", "Newest"),
    ("downloads", "Most downloaded"),
    ("rating", "Best rated"),
)
STATUSES = ("uploaded", "resolving", "building", "ready", "failed")
TERMINAL_STATUSES = frozenset({"ready", "failed"})
DOWNLOAD_KINDS = (
    ("proto", "Protobuf interface (.proto)"),
    ("openapi", "OpenAPI document (JSON)"),
    ("sbom", "SBOM (CycloneDX JSON)"),
    ("bundle", "Bundle (tar.gz)"),
    ("image", "Image (docker save tarball)"),
)


@dataclass(frozen=True)
class Stage:
    label: str
    state: str  # done, current, failed, pending
    when: datetime | str | None = None
    seconds: float | None = None


def pipeline_stages(detail: dict[str, Any]) -> list[Stage]:
    """The four stages of a version with their state and times, from its status and timings."""
    status = str(detail.get("status", "uploaded"))
    timings = detail.get("timings") or {}
    resolved = timings.get("resolved_at") is not None or status in ("building", "ready")
    failed_in_resolve = status == "failed" and not resolved

    def state(done: bool, current: bool, failed: bool) -> str:
        if failed:
            return "failed"
        if done:
            return "done"
        return "current" if current else "pending"

    build_seconds = _sum(timings.get("build_seconds"), timings.get("validation_seconds"))
    return [
        Stage("Uploaded", "done", timings.get("uploaded_at")),
        Stage(
            "Dependencies resolved",
            state(resolved, status in ("uploaded", "resolving"), failed_in_resolve),
            timings.get("resolved_at"),
            timings.get("resolve_seconds"),
        ),
        Stage(
            "Image built and validated",
            state(status == "ready", status == "building", status == "failed" and resolved),
            timings.get("finished_at") if status in TERMINAL_STATUSES else None,
            build_seconds,
        ),
        Stage(
            "Ready" if status != "failed" else "Failed",
            state(status == "ready", False, status == "failed"),
            timings.get("finished_at"),
            timings.get("total_seconds"),
        ),
    ]


def _sum(*values: Any) -> float | None:
    numbers = [float(value) for value in values if isinstance(value, int | float)]
    return sum(numbers) if numbers else None


def shown_version(model: dict[str, Any], asked: int | None) -> int | None:
    """The version a model page shows: the one asked for, else the published one, else the
    newest ready one, else the newest."""
    versions = [int(v["version"]) for v in model.get("versions") or []]
    if asked is not None and asked in versions:
        return asked
    published = model.get("published_version")
    if isinstance(published, int) and published in versions:
        return published
    ready = [int(v["version"]) for v in model.get("versions") or [] if v.get("status") == "ready"]
    if ready:
        return max(ready)
    return max(versions) if versions else None


def ready_versions(model: dict[str, Any]) -> list[int]:
    found = [int(v["version"]) for v in model.get("versions") or [] if v.get("status") == "ready"]
    return sorted(found, reverse=True)


def format_seconds(value: Any) -> str:
    if not isinstance(value, int | float):
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min"


def format_time(value: Any) -> str:
    """ISO timestamps as `2026-12-06 20:05 UTC` (the API answers in UTC)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return ""


def format_bytes(value: Any) -> str:
    if not isinstance(value, int):
        return ""
    size = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def field_errors(problem: dict[str, Any]) -> dict[str, str]:
    """`{form field: message}` from a 422 problem's `errors[]` (`body.category` → category)."""
    found: dict[str, str] = {}
    for entry in problem.get("errors") or []:
        if not isinstance(entry, dict):
            continue
        location = [str(part) for part in entry.get("location") or []]
        name = location[1] if len(location) > 1 and location[0] == "body" else None
        if name is None:
            name = str(entry.get("field", "")).removeprefix("body.").split(".", 1)[0]
        if name and name not in found:
            found[name] = str(entry.get("message", "invalid value"))
    return found


def parse_tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.replace("\n", ",").split(",") if tag.strip()]
