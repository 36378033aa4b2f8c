"""Integers in public paths and queries are bounded at the edge (issue 11, defect 7).

A version number above 2**31 - 1 used to travel to the catalog, whose int32 column made asyncpg
raise: 500 there, 502 here (all 22 gateway 5xx of the issue's fuzzing). Now the gateway answers
422 problem+json naming the parameter before calling anyone: the catalog below is unreachable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from modelbay_gateway.main import build_service
from modelbay_gateway.settings import GatewaySettings

TOO_BIG = str(2**31)


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = GatewaySettings(
        database_url="postgresql+asyncpg://nobody:nothing@127.0.0.1:9/none",
        bus_url="memory://",
        blob_url=tmp_path.as_uri(),
        catalog_url="http://127.0.0.1:9",
        onboarding_url="http://127.0.0.1:9",
        builder_url="http://127.0.0.1:9",
        anonymous_read=True,  # no token lookup: the database is unreachable too
    )
    return TestClient(build_service(settings).app)


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"/v1/models/alice/iris/versions/{TOO_BIG}", "path.version"),
        (f"/v1/models/alice/iris/versions/{TOO_BIG}/bundle", "path.version"),
        (f"/v1/models/alice/iris/versions/{TOO_BIG}/deploy/compose", "path.version"),
        (f"/v1/events?version={TOO_BIG}", "query.version"),
    ],
)
def test_an_out_of_range_version_is_a_422_naming_it(
    client: TestClient, path: str, field: str
) -> None:
    response = client.get(path)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [error["field"] for error in response.json()["errors"]]
