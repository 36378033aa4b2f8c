"""`modelbay deploy` without a platform: its options, and reading the platform's archives.

The archives are made by the server-side generator (`modelbay_common.deployment`) here only to
have real input; the SDK itself never imports it (it reads `modelbay-deployment.json`). The
real runs (`--local`, `--down`, a compose file) are in tests/e2e/test_deploy.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from modelbay.cli import build_app
from modelbay.deploy_local import extract, names, read_facts
from modelbay.errors import ApiError
from modelbay_common.deployment import deployment_archive, model_deployment
from typer.testing import CliRunner

runner = CliRunner()
DIGEST = "sha256:" + "c" * 64


def archive(archive_format: str = "tar.gz", kind: str = "compose") -> bytes:
    facts = model_deployment(
        "alice", "iris", 3, image_ref="127.0.0.1:5000/alice/iris:3", image_digest=DIGEST
    )
    return deployment_archive(facts, kind, archive_format)[1]


def test_exactly_one_mode_is_required() -> None:
    for args in ([], ["--local", "--down"], ["--output", "x", "--local"]):
        result = runner.invoke(build_app(), ["deploy", "alice/iris:3", *args])
        assert result.exit_code == 2, result.output
        assert "exactly one of --output DIR, --local, --down" in result.output


def test_a_version_is_required() -> None:
    result = runner.invoke(build_app(), ["deploy", "alice/iris", "--down"])
    assert result.exit_code == 1
    assert "give a version" in result.output


def test_the_facts_come_from_the_archive() -> None:
    facts = read_facts(archive())
    assert facts["reference"] == "alice/iris:3"
    assert facts["front"]["image"] == f"127.0.0.1:5000/alice/iris@{DIGEST}"
    assert facts["front"]["memory_limit"] == "1024Mi"  # not measured: the validation limit
    assert facts["nodes"] == []


@pytest.mark.parametrize("archive_format", ["tar.gz", "zip"])
def test_archives_are_extracted_under_their_root(archive_format: str, tmp_path: Path) -> None:
    written = extract(archive(archive_format, "kustomize"), archive_format, tmp_path)
    root = tmp_path / "alice-iris-3-kustomize"
    assert root / "overlays" / "production" / "kustomization.yaml" in written
    assert all(path.is_file() and root in path.parents for path in written)


def test_a_zip_leaving_the_directory_is_refused(tmp_path: Path) -> None:
    import io
    import zipfile

    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as package:
        package.writestr("../escape.txt", "x")
    with pytest.raises(ApiError, match="outside"):
        extract(raw.getvalue(), "zip", tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_local_names_are_per_version() -> None:
    assert names("alice/iris:3") == ("modelbay-alice-iris-3", "modelbay-alice-iris-3")


def test_delete_takes_a_model_not_a_version() -> None:
    for reference in ("alice/iris:3", "alice/iris@stable"):
        result = runner.invoke(build_app(), ["delete", reference, "--yes"])
        assert result.exit_code == 1, result.output
        assert "delete takes OWNER/NAME" in result.output
