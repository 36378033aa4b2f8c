"""The catalog answers with the shared contract the gateway parses (modelbay_common.contracts)."""

from __future__ import annotations

from typing import get_args

from modelbay_catalog.lifecycle import VersionStatus
from modelbay_catalog.main import build_service
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.contracts.catalog import VersionDetail, VersionStatusName

UNREACHABLE = "postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none"


def test_the_contract_knows_every_status_of_the_lifecycle() -> None:
    assert set(get_args(VersionStatusName)) == {status.value for status in VersionStatus}


def test_the_internal_openapi_describes_the_contract_shapes() -> None:
    app = build_service(CatalogSettings(database_url=UNREACHABLE, bus_url="memory://")).app
    schemas = app.openapi()["components"]["schemas"]
    version = schemas["VersionDetail"]["properties"]
    assert set(version) == set(VersionDetail.model_fields)
    for nested in ("Failure", "Image", "Interface", "Timings", "BundleInfo"):
        assert "properties" in schemas[nested], f"{nested} is not described"
