"""The public OpenAPI documents the error answers and the enums the API enforces (issue 11,
defect 9): 401/404/409/422/502 as problem+json, `category` and `visibility` as enums."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from modelbay_gateway.main import build_service
from modelbay_gateway.settings import GatewaySettings

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    blobs: Path = tmp_path_factory.mktemp("blobs")
    settings = GatewaySettings(
        database_url="postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none",
        bus_url="memory://",
        blob_url=blobs.as_uri(),
    )
    found: dict[str, Any] = build_service(settings).app.openapi()
    return found


def _problem_statuses(document: dict[str, Any], method: str, path: str) -> set[int]:
    responses = document["paths"][path][method]["responses"]
    return {
        int(status)
        for status, answer in responses.items()
        if list(answer.get("content", {})) == [PROBLEM]
    }


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("get", "/v1/models", {401, 422, 502, 503}),
        ("get", "/v1/models/{owner}/{name}", {401, 404, 502}),
        ("post", "/v1/models/{owner}/{name}/versions", {401, 404, 409, 422, 502}),
        ("post", "/v1/models/{owner}/{name}/publish", {401, 404, 409, 422, 502}),
        ("get", "/v1/models/{owner}/{name}/versions/{version}/bundle", {401, 404, 422, 502}),
    ],
)
def test_operations_document_their_problem_answers(
    document: dict[str, Any], method: str, path: str, expected: set[int]
) -> None:
    assert expected <= _problem_statuses(document, method, path)


def test_no_public_operation_documents_a_plain_json_422(document: dict[str, Any]) -> None:
    plain = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        if path.startswith("/v1/")
        for method, operation in operations.items()
        if "application/json" in operation["responses"].get("422", {}).get("content", {})
    ]
    assert plain == []


def test_downloads_document_their_real_media_types(document: dict[str, Any]) -> None:
    base = "/v1/models/{owner}/{name}/versions/{version}/"
    expected = {
        "bundle": "application/gzip",
        "sbom": "application/vnd.cyclonedx+json",
        "image": "application/x-tar",
        "proto": "text/plain",
    }
    for kind, media_type in expected.items():
        content = document["paths"][base + kind]["get"]["responses"]["200"]["content"]
        assert list(content) == [media_type], kind


def test_category_and_visibility_are_documented_as_the_enums_enforced(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    publish = schemas["PublishIn"]["properties"]
    category = schemas[publish["category"]["$ref"].rsplit("/", 1)[-1]]
    assert "classification" in category["enum"]
    assert "other" in category["enum"]
    visibility = schemas[publish["visibility"]["$ref"].rsplit("/", 1)[-1]]
    assert set(visibility["enum"]) == {"private", "org", "public"}
    search = document["paths"]["/v1/models"]["get"]["parameters"]
    (category_query,) = [p for p in search if p["name"] == "category"]
    options = category_query["schema"].get("anyOf", [category_query["schema"]])
    assert any("$ref" in option for option in options)
