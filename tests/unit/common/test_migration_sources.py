"""Where a schema's migrations live: given by the caller or registered by its service."""

from __future__ import annotations

import pytest
from modelbay_common.migrations import MigrationSource, alembic_config, main, registered_sources


def test_a_given_source_needs_no_registration() -> None:
    config = alembic_config(MigrationSource("catalog", "modelbay_catalog"))
    assert config.get_main_option("script_location") == "modelbay_catalog:migrations"
    assert config.attributes["schema"] == "catalog"


def test_a_schema_name_resolves_through_the_entry_points() -> None:
    assert registered_sources()["gateway"] == MigrationSource("gateway", "modelbay_gateway")
    assert alembic_config("gateway").get_main_option("script_location") == (
        "modelbay_gateway:migrations"
    )


@pytest.mark.parametrize(
    ("schema", "package"),
    [("Catalog", "modelbay_catalog"), ('x"; DROP', "p"), ("catalog", "a/b"), ("catalog", "")],
)
def test_names_that_would_leak_into_ddl_or_paths_are_refused(schema: str, package: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        MigrationSource(schema, package)


def test_an_unregistered_schema_names_what_to_install() -> None:
    with pytest.raises(ValueError, match=r"no migrations registered for schema 'nothing'") as info:
        alembic_config("nothing")
    assert "modelbay.migrations" in str(info.value)
    assert "catalog" in str(info.value)  # the registered ones are listed


def test_the_command_line_refuses_an_unregistered_schema(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Refused before any connection is opened: the URL points nowhere.
    argv = ["--database-url", "postgresql://127.0.0.1:1/none", "upgrade", "nothing"]
    assert main(argv) == 2
    assert "no migrations registered for schema 'nothing'" in capsys.readouterr().err
