"""The internal API's input checks, through the composition root and without a database:
payload and header problems are answered before any query runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from modelbay_catalog.main import build_service
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.internal_auth import InternalAuth

# Never connected: every request below must be refused before the first query.
UNREACHABLE = "postgresql+asyncpg://nobody:nothing@127.0.0.1:9/none"
PUBLISH = "/internal/models/alice/iris/publish"
ALICE = {"X-Modelbay-User": "alice"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    settings = CatalogSettings(database_url=UNREACHABLE, bus_url="memory://")
    service = build_service(settings)
    with TestClient(service.app) as test_client:
        test_client.auth = InternalAuth()  # signed like the gateway's calls
        yield test_client


@pytest.mark.parametrize("missing", ["description", "category", "license"])
def test_publish_names_each_required_field(client: TestClient, missing: str) -> None:
    body = {"description": "Iris", "category": "classification", "license": "MIT"}
    del body[missing]

    response = client.post(PUBLISH, json=body, headers=ALICE)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == [f"body.{missing}"]


def test_publish_rejects_blank_text_unknown_category_and_bad_tags(client: TestClient) -> None:
    body = {
        "description": "   ",
        "category": "toys",
        "license": "MIT",
        "visibility": "friends",
        "tags": ["ok", "not ok"],
    }

    response = client.post(PUBLISH, json=body, headers=ALICE)

    fields = {error["field"] for error in response.json()["errors"]}
    assert response.status_code == 422
    assert fields == {"body.description", "body.category", "body.visibility", "body.tags"}


def test_a_bad_admin_header_is_a_400_naming_it(client: TestClient) -> None:
    response = client.get("/internal/models", headers={"X-Modelbay-Admin": "maybe"})

    assert response.status_code == 400
    assert "X-Modelbay-Admin" in response.json()["detail"]


def test_search_parameters_are_checked(client: TestClient) -> None:
    too_many = client.get("/internal/models", params={"limit": 1000})
    bad_status = client.get("/internal/models", params={"status": "done"})

    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["field"] == "query.limit"
    assert bad_status.json()["errors"][0]["field"] == "query.status"


def test_download_kind_must_be_known(client: TestClient) -> None:
    response = client.post(
        "/internal/models/alice/iris/versions/1/downloads", json={"kind": "weights"}, headers=ALICE
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.kind"


def test_build_service_closes_only_the_clients_it_opened() -> None:
    """An injected bus stays the injector's; the engine the catalog opened is the catalog's."""
    settings = CatalogSettings(database_url=UNREACHABLE, bus_url="memory://")
    from modelbay_common.bus import InProcessBus

    bus = InProcessBus()
    service = build_service(settings, bus=bus)
    assert service.bus is bus
    assert (service.clients.owns_engine, service.clients.owns_bus) == (True, False)
    assert service.clients.blob_store_or_none is None  # the catalog keeps no blobs


@pytest.mark.parametrize(
    "path",
    [
        "/internal/models/alice/iris/versions/2147483648",
        "/internal/models/alice/iris/versions/0",
    ],
)
def test_a_version_number_out_of_range_is_a_422_before_any_query(
    client: TestClient, path: str
) -> None:
    # Issue 11, defect 7: 2**31 reached asyncpg (an int32 column), a 500 here and a 502 at the
    # gateway. The database is unreachable, so a 422 proves nothing was queried.
    response = client.get(path, headers=ALICE)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert [error["field"] for error in response.json()["errors"]] == ["path.version"]
