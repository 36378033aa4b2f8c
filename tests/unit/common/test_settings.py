"""ServiceSettings: service prefix over shared MODELBAY_ names over defaults."""

from __future__ import annotations

import pytest
from modelbay_common.settings import ConfigurationError, ServiceSettings
from pydantic_settings import SettingsConfigDict

REQUIRED = {
    "MODELBAY_DATABASE_URL": "postgresql+asyncpg://shared@127.0.0.1/modelbay",
    "MODELBAY_BUS_URL": "memory://",
    "MODELBAY_BLOB_URL": "file:///var/lib/modelbay/blobs",
}


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="MODELBAY_CATALOG_")
    http_port: int = 8002
    page_size: int = 50


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("MODELBAY_"):
            monkeypatch.delenv(name)


@pytest.fixture
def shared_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REQUIRED.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("shared_env")
def test_shared_names_configure_every_service() -> None:
    settings = CatalogSettings.load()

    assert settings.database_url == REQUIRED["MODELBAY_DATABASE_URL"]
    assert settings.bus_url == "memory://"
    assert settings.blob_url == "file:///var/lib/modelbay/blobs"
    assert settings.http_port == 8002
    assert settings.page_size == 50
    assert settings.log_level == "INFO"
    assert settings.log_json is True


@pytest.mark.usefixtures("shared_env")
def test_service_prefix_wins_over_shared_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELBAY_CATALOG_DATABASE_URL", "postgresql+asyncpg://catalog@db/catalog")
    monkeypatch.setenv("MODELBAY_HTTP_PORT", "9999")
    monkeypatch.setenv("MODELBAY_CATALOG_PAGE_SIZE", "10")
    monkeypatch.setenv("MODELBAY_LOG_LEVEL", "debug")

    settings = CatalogSettings.load()

    assert settings.database_url == "postgresql+asyncpg://catalog@db/catalog"
    assert settings.http_port == 9999  # shared name beats the class default
    assert settings.page_size == 10
    assert settings.log_level == "DEBUG"


@pytest.mark.usefixtures("shared_env")
def test_constructor_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELBAY_CATALOG_HTTP_PORT", "7000")

    assert CatalogSettings.load(http_port=7001).http_port == 7001


def test_missing_and_invalid_values_name_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELBAY_BUS_URL", "kafka://broker")
    monkeypatch.setenv("MODELBAY_BLOB_URL", "file:///blobs")

    with pytest.raises(ConfigurationError) as caught:
        CatalogSettings.load()

    message = str(caught.value)
    assert "MODELBAY_CATALOG_DATABASE_URL or MODELBAY_DATABASE_URL" in message
    assert "MODELBAY_CATALOG_BUS_URL or MODELBAY_BUS_URL" in message
    assert "kafka" in message


@pytest.mark.usefixtures("shared_env")
def test_port_and_log_level_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELBAY_CATALOG_HTTP_PORT", "70000")
    monkeypatch.setenv("MODELBAY_LOG_LEVEL", "LOUD")

    with pytest.raises(ConfigurationError, match="HTTP_PORT") as caught:
        CatalogSettings.load()
    assert "MODELBAY_CATALOG_LOG_LEVEL or MODELBAY_LOG_LEVEL" in str(caught.value)


@pytest.mark.usefixtures("shared_env")
def test_urls_with_credentials_stay_out_of_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELBAY_DATABASE_URL", "postgresql+asyncpg://u:hunter2@db/modelbay")

    assert "hunter2" not in repr(CatalogSettings.load())
