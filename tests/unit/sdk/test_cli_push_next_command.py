"""`modelbay push` of a bundle ends with the command that follows its pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelbay import cli_push
from modelbay.cli import build_app
from modelbay.session import PushResult
from onboarding_bundles import make_bundle_dir
from typer.testing import CliRunner

runner = CliRunner()


class _PlatformSession:
    """The Session as the CLI sees it after a push the platform accepted."""

    def __init__(self, url: str | None = None, token: str | None = None) -> None:
        self.url = url

    def push_bundle(self, bundle: Path, name: str | None) -> PushResult:
        return PushResult(
            owner="alice",
            name=name or "adder",
            version=4,
            status="uploaded",
            status_url="http://platform.example/v1/models/alice/adder/versions/4",
        )


def test_push_prints_the_status_command_to_follow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cli_push, "Session", _PlatformSession)
    bundle = make_bundle_dir(tmp_path / "adder")
    result = runner.invoke(
        build_app(),
        ["push", str(bundle), "--url", "http://platform.example", "--interface-wait", "0"],
        env={"COLUMNS": "40"},  # narrow: the command must still come out on one line
    )
    assert result.exit_code == 0, result.output
    assert "Follow it: modelbay status alice/adder:4\n" in result.output


def test_a_push_to_a_directory_has_no_pipeline_to_follow(tmp_path: Path) -> None:
    bundle = make_bundle_dir(tmp_path / "adder")
    store = tmp_path / "store"
    result = runner.invoke(build_app(), ["push", str(bundle), "--url", store.as_uri()])
    assert result.exit_code == 0, result.output
    assert "modelbay status" not in result.output
