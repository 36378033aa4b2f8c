"""The public OpenAPI describes the catalog's answers with their shapes, not as bare objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from modelbay_gateway.main import build_service
from modelbay_gateway.settings import GatewaySettings


def _openapi(tmp_path: Path) -> dict[str, Any]:
    settings = GatewaySettings(
        database_url="postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none",
        bus_url="memory://",
        blob_url=tmp_path.as_uri(),
    )
    document: dict[str, Any] = build_service(settings).app.openapi()
    return document


def _target(schemas: dict[str, Any], field: dict[str, Any]) -> dict[str, Any]:
    """The schema a property points to, through `$ref` or a nullable `anyOf`."""
    for option in field.get("anyOf", [field]):
        if "$ref" in option:
            found: dict[str, Any] = schemas[option["$ref"].rsplit("/", 1)[-1]]
            return found
    return field


def test_a_version_shows_failure_image_and_interface_with_their_fields(tmp_path: Path) -> None:
    schemas = _openapi(tmp_path)["components"]["schemas"]
    version = schemas["VersionOut"]["properties"]
    assert set(_target(schemas, version["failure"])["properties"]) >= {"reason", "detail"}
    assert set(_target(schemas, version["image"])["properties"]) >= {"ref", "pull_command"}
    assert set(_target(schemas, version["interface"])["properties"]) >= {"methods", "proto_key"}


def test_model_pages_list_typed_versions_and_search_items(tmp_path: Path) -> None:
    document = _openapi(tmp_path)
    schemas = document["components"]["schemas"]
    versions = schemas["ModelDetail"]["properties"]["versions"]["items"]
    assert _target(schemas, versions)["properties"]["status"]["enum"] == [
        "uploaded",
        "resolving",
        "building",
        "ready",
        "failed",
    ]
    answer = document["paths"]["/v1/models"]["get"]["responses"]["200"]["content"]
    assert answer["application/json"]["schema"]["$ref"].endswith("/SearchPage")
