"""Internal APIs believe caller headers only from a holder of the internal secret (issue 11,
defect 8): a forged `X-Modelbay-Admin: true` from anything on loopback read private models and
the builder served image tarballs with no header at all.

Driven through the composition roots with unreachable databases: a 401 proves the request was
stopped before any route or query; a 400 naming a caller header proves a signed request got
through to the route.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from modelbay_builder.main import build_service as build_builder
from modelbay_builder.settings import BuilderSettings
from modelbay_catalog.main import build_service as build_catalog
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.internal_auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InternalAuth,
    sign,
    verify,
)

UNREACHABLE = "postgresql+asyncpg://nobody:nothing@127.0.0.1:9/none"
SECRET = "the-internal-secret-of-this-test"
FORGED_ADMIN = {"X-Modelbay-User": "mallory", "X-Modelbay-Admin": "true"}


@pytest.fixture
def catalog_app() -> FastAPI:
    settings = CatalogSettings(
        database_url=UNREACHABLE, bus_url="memory://", internal_secret=SECRET
    )
    app: FastAPI = build_catalog(settings).app
    return app


def _client(app: FastAPI, auth: httpx.Auth | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://catalog", auth=auth
    )


def _assert_refused(response: httpx.Response, why: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith("/internal-auth-failed")
    assert why in response.json()["detail"]


async def test_a_forged_admin_header_without_a_signature_is_401(catalog_app: FastAPI) -> None:
    async with _client(catalog_app) as client:
        response = await client.get("/internal/models/alice/secret", headers=FORGED_ADMIN)
    _assert_refused(response, "must be signed")


async def test_a_signed_request_reaches_the_route(catalog_app: FastAPI) -> None:
    async with _client(catalog_app, InternalAuth(SECRET)) as client:
        response = await client.get("/internal/models", headers={"X-Modelbay-Admin": "maybe"})
    # The route's own header check answered: the signature was accepted.
    assert response.status_code == 400, response.text
    assert "X-Modelbay-Admin" in response.json()["detail"]


async def test_a_signature_made_with_another_secret_is_401(catalog_app: FastAPI) -> None:
    async with _client(catalog_app, InternalAuth("someone-else's-secret")) as client:
        response = await client.get("/internal/models", headers=FORGED_ADMIN)
    _assert_refused(response, "does not match")


async def test_a_replayed_old_signature_is_401(catalog_app: FastAPI) -> None:
    path = "/internal/models"
    old = sign(SECRET, "GET", path, FORGED_ADMIN.items(), now=time.time() - 120)
    async with _client(catalog_app) as client:
        response = await client.get(path, headers={**FORGED_ADMIN, **old})
    _assert_refused(response, "s old")


async def test_a_header_changed_after_signing_is_401(catalog_app: FastAPI) -> None:
    path = "/internal/models"
    honest = {"X-Modelbay-User": "mallory", "X-Modelbay-Admin": "false"}
    signature = sign(SECRET, "GET", path, honest.items())
    async with _client(catalog_app) as client:
        escalated = {**honest, "X-Modelbay-Admin": "true", **signature}
        response = await client.get(path, headers=escalated)
        other_path = await client.get(path + "?owner=alice", headers={**honest, **signature})
    _assert_refused(response, "does not match")
    _assert_refused(other_path, "does not match")


async def test_health_probes_need_no_signature(catalog_app: FastAPI) -> None:
    async with _client(catalog_app) as client:
        response = await client.get("/healthz")
    assert response.status_code != 401


async def test_the_builder_image_tarball_route_requires_the_signature(tmp_path: Path) -> None:
    settings = BuilderSettings(
        database_url=UNREACHABLE,
        bus_url="memory://",
        blob_url=tmp_path.as_uri(),
        internal_secret=SECRET,
        mode="local-process",
        work_dir=tmp_path / "work",
    )
    app: FastAPI = build_builder(settings).app
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://builder") as client:
        response = await client.get("/internal/images/alice/iris/1/tarball")
    _assert_refused(response, "must be signed")


def test_verify_accepts_what_sign_made_and_names_missing_headers() -> None:
    headers = {"X-Modelbay-User": "alice", "Content-Type": "application/gzip"}
    signed = {**headers, **sign(SECRET, "POST", "/internal/uploads/alice/iris", headers.items())}
    verify(SECRET, "post", "/internal/uploads/alice/iris", signed.items())
    assert set(signed) >= {TIMESTAMP_HEADER, SIGNATURE_HEADER}
    with pytest.raises(Exception, match="must be signed"):
        verify(SECRET, "POST", "/internal/uploads/alice/iris", headers.items())
