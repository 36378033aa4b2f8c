"""The `modelbay` CLI, driven through typer's CliRunner."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from modelbay.cli import build_app
from typer.testing import CliRunner

MODELS = Path(__file__).resolve().parents[2] / "models"
runner = CliRunner()


@pytest.fixture(autouse=True)
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("MODELBAY_URL", raising=False)
    monkeypatch.delenv("MODELBAY_TOKEN", raising=False)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "scorer"
    result = runner.invoke(
        build_app(),
        [
            "dump",
            f"{MODELS / 'closures_lambdas.py'}:model",
            "scorer",
            "--out",
            str(out),
            "--requirement",
            "pyyaml",
            "--license",
            "MIT",
            "--tag",
            "demo",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "requirements: numpy==" in result.output
    return out


def test_help_lists_every_command_and_each_command_explains_itself() -> None:
    app = build_app()
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("login", "dump", "push", "inspect"):
        assert command in result.output
    dump_help = runner.invoke(app, ["dump", "--help"]).output
    assert "SCRIPT:VARIABLE" in dump_help
    assert "--requirement" in dump_help


def test_dump_records_options_in_the_manifest(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    assert [r.split("==")[0] for r in manifest["requirements"]] == ["numpy", "pyyaml"]
    assert manifest["license"] == "MIT"
    assert manifest["tags"] == ["demo"]
    assert set(manifest["samples"]) == {"score", "label"}


def test_inspect_shows_requirements_with_reasons_samples_and_proto(bundle: Path) -> None:
    result = runner.invoke(build_app(), ["inspect", str(bundle)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "checksums OK" in result.output
    assert "numpy==" in result.output
    assert "user request" in result.output
    assert "samples of score: 1" in result.output
    assert "service Model" in result.output
    raw = runner.invoke(build_app(), ["inspect", str(bundle), "--json"])
    assert json.loads(raw.output)["name"] == "scorer"


def test_push_to_a_directory_url_then_inspect_the_archive(bundle: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = runner.invoke(build_app(), ["push", str(bundle), "--url", store.as_uri()])
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    archive = store / "scorer-1.tar.gz"
    inspected = runner.invoke(build_app(), ["inspect", str(archive), "--no-proto"])
    assert inspected.exit_code == 0, inspected.output
    assert "scorer" in inspected.output


def test_login_stores_credentials_0600_even_when_unreachable(tmp_path: Path) -> None:
    result = runner.invoke(build_app(), ["login", "--url", "http://127.0.0.1:9/", "--token", "tok"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "config" / "modelbay" / "credentials.json"
    assert json.loads(path.read_text()) == {"url": "http://127.0.0.1:9", "token": "tok"}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert "unverified" in result.output


def test_user_errors_are_one_line_and_exit_1(tmp_path: Path) -> None:
    app = build_app()
    missing = runner.invoke(app, ["dump", "nope.py:model", "x", "--out", str(tmp_path / "o")])
    assert missing.exit_code == 1
    assert "error: script nope.py does not exist" in missing.output
    not_a_model = runner.invoke(
        app,
        [
            "dump",
            f"{MODELS / 'closures_lambdas.py'}:make_scorer",
            "x",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert not_a_model.exit_code == 1
    assert "not a modelbay.Model" in not_a_model.output
    no_url = runner.invoke(app, ["push", str(tmp_path)])
    assert no_url.exit_code == 1
    assert "no Modelbay URL" in no_url.output
