"""Catalog answers for unit tests: a complete `VersionDetail` with only the fields a test sets.

The shared contract (`modelbay_common.contracts.catalog`) has no optional fields to leave out, so
tests describe the part they care about and this fills the rest with a plausible `uploaded`
version.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from modelbay_common.contracts.catalog import VersionDetail

WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def version_detail(**fields: Any) -> VersionDetail:
    """`owner/name/version` alice/iris/3 unless given; nested parts may be given as dicts."""
    owner, name = fields.get("owner", "alice"), fields.get("name", "iris")
    version = fields.get("version", 3)
    prefix = f"interfaces/{owner}/{name}/{version}"
    answer: dict[str, Any] = {
        "owner": owner,
        "name": name,
        "version": version,
        "status": "uploaded",
        "failure": None,
        "image": None,
        "interface": {
            "methods": [],
            "proto_key": f"{prefix}/model.proto",
            "openapi_key": f"{prefix}/openapi.json",
        },
        "python_version": "3.11",
        "requirements": [],
        "lock": [],
        "lock_hash": None,
        "wheelhouse_reused": None,
        "bundle": None,
        "uploaded_by": owner,
        "description": None,
        "license": None,
        "timings": {
            "uploaded_at": WHEN,
            "resolved_at": None,
            "finished_at": None,
            "resolve_seconds": None,
            "build_seconds": None,
            "validation_seconds": None,
            "total_seconds": None,
        },
        "downloads": {},
        "created_at": WHEN,
        "updated_at": WHEN,
    }
    return VersionDetail.model_validate(answer | fields)


def image(ref: str, **fields: Any) -> dict[str, Any]:
    """The `image` part of a version detail."""
    return {
        "ref": ref,
        "digest": None,
        "size": None,
        "pull_command": None,
        "pinned_pull_command": None,
        "sbom_uri": None,
        "dependency_layer_cached": None,
    } | fields


def failure(reason: str) -> dict[str, Any]:
    return {"reason": reason, "detail": None, "sample": None}
