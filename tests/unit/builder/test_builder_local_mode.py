"""The local-process mode's pure parts: its image_ref, digest and SBOM, the choice of mode, and
what the gateway and `modelbay up` show for it. No processes, no network."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from catalog_answers import image, version_detail
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from modelbay_builder.local.refs import (
    LocalProcessExporter,
    LocalProcessImages,
    local_digest,
    local_process_ref,
    local_sbom,
)
from modelbay_builder.modes import resolve_mode
from modelbay_builder.records import BuildRequest
from modelbay_builder.settings import BuilderSettings
from modelbay_common.refs import served_url
from modelbay_embedded.platform import DockerStatus, EmbeddedConfig, EmbeddedPlatform, banner
from modelbay_gateway.schemas import VersionOut

LOCK_HASH = "f" * 64
BUNDLE_SHA = "a" * 64


def request() -> BuildRequest:
    return BuildRequest(
        owner="alice",
        name="iris",
        version=3,
        bundle_uri=f"bundles/sha256/{BUNDLE_SHA}.tar.gz",
        bundle_sha256=BUNDLE_SHA,
        python_version="3.11",
        lock=("numpy==2.0.0",),
        lock_hash=LOCK_HASH,
        wheelhouse_uri=f"wheelhouses/{LOCK_HASH}.tar",
    )


def settings(tmp_path: Path, **overrides: object) -> BuilderSettings:
    return BuilderSettings(
        database_url="postgresql+asyncpg://unused/unused",
        bus_url="memory://",
        blob_url=tmp_path.as_uri(),
        work_dir=tmp_path,
        **overrides,
    )


def test_image_ref_names_the_process_and_gives_its_url() -> None:
    ref = local_process_ref(41234, "alice", "iris", 3)
    assert ref == "local-process://127.0.0.1:41234/alice/iris/3"
    assert served_url(ref) == "http://127.0.0.1:41234"
    assert served_url("127.0.0.1:5000/alice/iris:3") is None


def test_digest_is_a_function_of_the_lock_and_the_bundle() -> None:
    digest = local_digest(LOCK_HASH, BUNDLE_SHA)
    assert digest.startswith("sha256:")
    assert len(digest) == len("sha256:") + 64
    assert local_digest(LOCK_HASH, BUNDLE_SHA) == digest
    assert local_digest(LOCK_HASH, "b" * 64) != digest
    assert local_digest("e" * 64, BUNDLE_SHA) != digest


def test_sbom_is_valid_cyclonedx_with_the_served_application_as_subject() -> None:
    distributions = [
        {"name": "numpy", "version": "2.0.0", "license": "BSD-3-Clause", "summary": "arrays"},
        {"name": "modelbay-runtime", "version": "0.1.0", "license": "", "summary": ""},
    ]
    digest = local_digest(LOCK_HASH, BUNDLE_SHA)
    document = local_sbom(request(), digest, distributions, datetime(2025, 5, 1, tzinfo=UTC))
    errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(document))
    assert errors is None, errors
    subject = document["metadata"]["component"]
    assert subject["type"] == "application"
    assert subject["name"] == "alice/iris"
    assert "purl" not in subject
    assert subject["hashes"] == [{"alg": "SHA-256", "content": digest.removeprefix("sha256:")}]
    assert [c["purl"] for c in document["components"]] == [
        "pkg:pypi/modelbay-runtime@0.1.0",
        "pkg:pypi/numpy@2.0.0",
    ]


def test_the_image_download_of_a_local_process_version_is_a_conflict() -> None:
    with pytest.raises(LocalProcessImages) as raised:
        LocalProcessExporter().prepare("local-process://127.0.0.1:1/alice/iris/3")
    assert raised.value.status == 409
    assert raised.value.type_slug == "image-not-available"
    assert "local process" in raised.value.detail


@pytest.mark.parametrize("mode", ["docker", "local-process"])
def test_an_explicit_mode_is_taken_as_it_is(tmp_path: Path, mode: str) -> None:
    # An unreachable engine does not matter: an explicit mode never asks it.
    configured = settings(tmp_path, mode=mode, docker_host=f"unix://{tmp_path}/none.sock")
    assert resolve_mode(configured) == mode


def test_auto_without_an_engine_is_local_process(tmp_path: Path) -> None:
    configured = settings(tmp_path, mode="auto", docker_host=f"unix://{tmp_path}/none.sock")
    assert resolve_mode(configured) == "local-process"


def test_mode_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELBAY_BUILDER_MODE", "local-process")
    monkeypatch.setenv("MODELBAY_BUILDER_LOCAL_PYTHON", "/usr/bin/python3.11")
    loaded = BuilderSettings.load(
        database_url="postgresql+asyncpg://unused/unused",
        bus_url="memory://",
        blob_url=tmp_path.as_uri(),
    )
    assert loaded.mode == "local-process"
    assert loaded.local_python == "/usr/bin/python3.11"


def test_version_detail_gives_the_url_instead_of_a_docker_pull_line() -> None:
    local_ref = "local-process://127.0.0.1:41234/alice/iris/3"
    local = VersionOut.of(
        version_detail(
            status="ready",
            image=image(
                local_ref,
                digest=local_digest(LOCK_HASH, BUNDLE_SHA),
                pull_command=f"docker pull {local_ref}",
            ),
        ),
        "/v1/models/alice/iris/versions/3",
    )
    assert local.pull_command is None
    assert local.serve_url == "http://127.0.0.1:41234"

    registry = VersionOut.of(
        version_detail(
            status="ready",
            image=image("127.0.0.1:5000/alice/iris:3", pull_command="docker pull x"),
        ),
        "/v1/models/alice/iris/versions/3",
    )
    assert registry.pull_command == "docker pull x"
    assert registry.serve_url is None


def test_banner_says_models_run_as_local_processes_without_docker(tmp_path: Path) -> None:
    status = DockerStatus(False, "No Docker engine answered at unix:///var/run/docker.sock (X)")
    platform = EmbeddedPlatform(EmbeddedConfig(data_dir=tmp_path), status, token="mb_t")
    text = banner(platform)
    assert "No Docker engine answered at unix:///var/run/docker.sock" in text
    assert "models will run as local processes from venvs built from the same wheelhouse" in text
