"""docs/services.md's settings tables are generated from the settings classes, never by hand."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from modelbay_builder.settings import BuilderSettings
from modelbay_catalog.settings import CatalogSettings
from modelbay_common.settings import ServiceSettings
from modelbay_gateway.settings import GatewaySettings
from modelbay_onboarding.settings import OnboardingSettings

REPO_ROOT = Path(__file__).resolve().parents[3]
SETTINGS_CLASSES = [
    ServiceSettings,
    OnboardingSettings,
    CatalogSettings,
    BuilderSettings,
    GatewaySettings,
]


@pytest.mark.parametrize("settings", SETTINGS_CLASSES, ids=lambda cls: cls.__name__)
def test_every_setting_has_a_description(settings: type[ServiceSettings]) -> None:
    undocumented = [name for name, field in settings.model_fields.items() if not field.description]
    assert undocumented == [], f"add Field(description=...) to {settings.__name__}: {undocumented}"


def test_settings_tables_are_generated_from_the_settings_classes() -> None:
    """docs/services.md must hold exactly what scripts/gen_settings_docs.py derives."""
    generator = runpy.run_path(str(REPO_ROOT / "scripts" / "gen_settings_docs.py"))
    committed = (REPO_ROOT / "docs" / "services.md").read_text()
    assert generator["render"](committed) == committed, (
        "docs/services.md is stale: run `uv run python scripts/gen_settings_docs.py`"
    )


def test_every_field_of_every_service_appears_in_the_tables() -> None:
    committed = (REPO_ROOT / "docs" / "services.md").read_text()
    for settings in SETTINGS_CLASSES[1:]:
        prefix = str(settings.model_config.get("env_prefix"))
        for name in settings.model_fields:
            own = f"`{prefix}{name.upper()}`"
            shared = f"`MODELBAY_{name.upper()}`"
            assert own in committed or shared in committed, f"{own} is not documented"
