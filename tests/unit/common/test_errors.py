"""Every error of a FastAPI app with install_problem_handlers is RFC 9457 problem+json."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from modelbay_common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    ModelbayError,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    UnprocessableContent,
    UnsupportedMediaType,
    install_problem_handlers,
)
from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"


class ModelVersionMissing(NotFound):
    title = "Model version not found"
    type_slug = "model-version-not-found"


class NewModel(BaseModel):
    name: str = Field(min_length=1)
    replicas: int = Field(ge=1)


def build_app() -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/models/{name}/versions/{version}")
    async def get_version(name: str, version: int) -> dict[str, str]:
        raise ModelVersionMissing(
            f"model {name!r} has no version {version}",
            extensions={"model": name, "version": version},
        )

    @app.post("/models")
    async def create_model(model: NewModel) -> NewModel:
        return model

    @app.get("/busy")
    async def busy() -> None:
        raise ServiceUnavailable("the catalog is not reachable", headers={"Retry-After": "5"})

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("secret connection string postgresql://u:hunter2@db")

    return app


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_app(), raise_server_exceptions=False)


def test_modelbay_error_renders_all_members_and_extensions(client: TestClient) -> None:
    response = client.get("/models/iris/versions/3")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "https://modelbay.dev/problems/model-version-not-found",
        "title": "Model version not found",
        "status": 404,
        "detail": "model 'iris' has no version 3",
        "instance": "/models/iris/versions/3",
        "model": "iris",
        "version": 3,
    }


def test_error_headers_are_sent(client: TestClient) -> None:
    response = client.get("/busy")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["detail"] == "the catalog is not reachable"


def test_body_validation_is_422_naming_each_field(client: TestClient) -> None:
    response = client.post("/models", json={"name": "", "replicas": 0})

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "https://modelbay.dev/problems/validation-error"
    assert problem["status"] == 422
    assert problem["instance"] == "/models"
    fields = {error["field"]: error for error in problem["errors"]}
    assert set(fields) == {"body.name", "body.replicas"}
    assert fields["body.replicas"]["location"] == ["body", "replicas"]
    assert "greater than or equal to 1" in fields["body.replicas"]["message"]
    assert "body.name" in problem["detail"]
    assert "body.replicas" in problem["detail"]


def test_missing_body_field_and_bad_path_parameter_are_named(client: TestClient) -> None:
    missing = client.post("/models", json={"name": "iris"}).json()
    bad_path = client.get("/models/iris/versions/three").json()

    assert [error["field"] for error in missing["errors"]] == ["body.replicas"]
    assert missing["errors"][0]["type"] == "missing"
    assert [error["field"] for error in bad_path["errors"]] == ["path.version"]


def test_malformed_json_is_a_4xx_problem(client: TestClient) -> None:
    response = client.post(
        "/models", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["errors"][0]["type"] == "json_invalid"


def test_unknown_route_is_404_problem(client: TestClient) -> None:
    response = client.get("/nowhere")

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "No resource at /nowhere",
        "instance": "/nowhere",
    }


def test_wrong_method_is_405_problem_with_allow_header(client: TestClient) -> None:
    response = client.delete("/models")

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["allow"] == "POST"
    assert response.json()["detail"] == "Method DELETE is not allowed for /models"


def test_unexpected_error_is_generic_500_and_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="modelbay.errors"):
        response = client.get("/crash")

    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM_JSON
    problem = response.json()
    assert problem["type"] == "https://modelbay.dev/problems/internal-error"
    assert problem["instance"] == "/crash"
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    [record] = [r for r in caplog.records if r.name == "modelbay.errors"]
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])


@pytest.mark.parametrize(
    ("error_class", "status"),
    [
        (BadRequest, 400),
        (Unauthorized, 401),
        (Forbidden, 403),
        (NotFound, 404),
        (Conflict, 409),
        (PayloadTooLarge, 413),
        (UnsupportedMediaType, 415),
        (UnprocessableContent, 422),
        (ServiceUnavailable, 503),
    ],
)
def test_each_subclass_carries_its_status_and_type(
    error_class: type[ModelbayError], status: int
) -> None:
    problem = error_class("what went wrong").to_problem("/x")

    assert problem["status"] == status
    assert problem["type"].startswith("https://modelbay.dev/problems/")
    assert problem["detail"] == "what went wrong"
    assert problem["title"]


def test_extension_members_cannot_shadow_standard_members() -> None:
    with pytest.raises(ValueError, match="status"):
        Conflict("x", extensions={"status": 200})
