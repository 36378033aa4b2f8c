"""The upload route through the composition root: every rejection is problem+json, happens
before any database access, and stores nothing. (Accepted uploads need Postgres: they are
tested in tests/integration/onboarding.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from modelbay_common.bus import InProcessBus
from modelbay_common.internal_auth import InternalAuth
from modelbay_onboarding.main import Service, build_service
from modelbay_onboarding.settings import OnboardingSettings
from onboarding_bundles import archive, edit_manifest, make_bundle_dir, regular, tar_gz

USER = {"X-Modelbay-User": "alice", "X-Modelbay-Org": "", "X-Modelbay-Admin": "false"}
PROBLEM = "application/problem+json"


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    settings = OnboardingSettings(
        # Never connected to: every request in this file is refused before the database.
        database_url="postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none",
        bus_url="memory://",
        blob_url=(tmp_path / "blobs").as_uri(),
        max_upload_bytes=200_000,
        spool_dir=tmp_path,
        resolver_enabled=False,
    )
    built = build_service(settings, bus=InProcessBus())
    yield built
    await built.engine.dispose()


@pytest.fixture
async def client(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://onboarding", auth=InternalAuth()
    ) as client:
        yield client


def _stored(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]


def _spooled(tmp_path: Path) -> list[Path]:
    return list(tmp_path.glob("upload-*"))


async def _post(
    client: httpx.AsyncClient, body: bytes, path: str = "alice/adder"
) -> httpx.Response:
    return await client.post(
        f"/internal/uploads/{path}",
        content=body,
        headers={**USER, "Content-Type": "application/gzip"},
    )


async def test_zip_slip_is_refused_and_nothing_is_kept(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    response = await _post(client, tar_gz([regular("../../evil.sh", b"rm -rf /")]))
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["type"].endswith("/unsafe-archive")
    assert "zip-slip" in problem["detail"]
    assert _stored(tmp_path) == []
    assert _spooled(tmp_path) == []


async def test_an_oversized_body_is_refused_with_413_while_streaming(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(1000):  # 64 MB offered; refused after ~200 KB
            yield bytes(64 * 1024)

    response = await client.post("/internal/uploads/alice/adder", content=endless(), headers=USER)
    assert response.status_code == 413
    assert response.json()["limit_bytes"] == 200_000
    assert "MODELBAY_ONBOARDING_MAX_UPLOAD_BYTES" in response.json()["detail"]
    assert _stored(tmp_path) == []
    assert _spooled(tmp_path) == []


async def test_a_declared_length_over_the_limit_is_refused_before_reading(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/internal/uploads/alice/adder",
        content=b"tiny",
        headers={**USER, "Content-Length": "999999999"},
    )
    assert response.status_code == 413


async def test_an_invalid_bundle_is_422_naming_every_problem(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    bundle = make_bundle_dir(tmp_path / "adder")
    edit_manifest(bundle, lambda m: m.__setitem__("python", "3.8.10"))
    response = await _post(client, archive(bundle, tmp_path / "b.tar.gz").read_bytes())
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"].endswith("/invalid-bundle")
    fields = {error["field"] for error in problem["errors"]}
    assert "manifest.python" in fields
    assert _stored(tmp_path) == []


@pytest.mark.parametrize(
    "path", ["Alice/adder", "alice/ad der", "alice/-adder", "alice/" + "a" * 65]
)
async def test_names_that_cannot_be_docker_repositories_are_refused(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await _post(client, b"irrelevant", path)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/invalid-model-name")


async def test_the_caller_must_be_named_by_the_gateway(client: httpx.AsyncClient) -> None:
    response = await client.post("/internal/uploads/alice/adder", content=b"x")
    assert response.status_code == 400
    assert "X-Modelbay-User" in response.json()["detail"]


async def test_a_malformed_admin_flag_is_refused_naming_the_header(
    client: httpx.AsyncClient,
) -> None:
    headers = {**USER, "X-Modelbay-Admin": "perhaps"}
    response = await client.post("/internal/uploads/alice/adder", content=b"x", headers=headers)
    assert response.status_code == 400
    assert "X-Modelbay-Admin" in response.json()["detail"]


async def test_a_body_that_is_not_an_archive_is_400(client: httpx.AsyncClient) -> None:
    response = await _post(client, b"just some text")
    assert response.status_code == 400
    assert response.json()["type"].endswith("/corrupt-archive")


async def test_a_foreign_media_type_is_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/internal/uploads/alice/adder",
        content=b"{}",
        headers={**USER, "Content-Type": "application/json"},
    )
    assert response.status_code == 415
