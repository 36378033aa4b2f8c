"""deploy/docker-compose.local.yml (the override that builds local stand-ins where no image can be
pulled) and deploy/Dockerfile.service (the four services, built from a host wheelhouse). Files
only: `docker-compose config` merges the two compose files without touching the engine. The
merged stack runs for real in tests/e2e/test_compose_stack.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPO_ROOT / "deploy"
COMPOSE_FILES = (DEPLOY / "docker-compose.yml", DEPLOY / "docker-compose.local.yml")
DOCKERFILE = DEPLOY / "Dockerfile.service"
APP_SERVICES = ("onboarding", "catalog", "builder", "gateway")
# What operators pull; none of it may be left once the override applies.
UPSTREAM_IMAGE = re.compile(r"^(postgres|rabbitmq|registry|minio/minio|minio/mc|python):")
# The base with apt (scripts/build-python-base-image.sh): the stand-ins apt-get in their builds.
BASE_IMAGE = "modelbay/python:3.11-bookworm-apt"


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail("docker-compose is not installed; run `make setup` (apt package)")
    env_file = tmp_path_factory.mktemp("compose") / "test.env"
    env_file.write_text(f"MODELBAY_ADMIN_TOKEN={'t' * 32}\nMODELBAY_INTERNAL_SECRET={'s' * 32}\n")
    command = [executable, "--env-file", str(env_file)]
    for path in COMPOSE_FILES:
        command += ["-f", str(path)]
    result = subprocess.run(
        [*command, "config"],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    services: dict[str, dict[str, Any]] = yaml.safe_load(result.stdout)["services"]
    return services


def test_no_service_is_left_on_an_upstream_image(merged: dict[str, dict[str, Any]]) -> None:
    for name, service in merged.items():
        image = str(service.get("image", ""))
        assert not UPSTREAM_IMAGE.match(image), f"{name} still uses {image}"
        assert "build" in service or name in {"minio-setup"}, f"{name} has nothing to build"


def test_every_stand_in_builds_from_the_projects_debian_base(
    merged: dict[str, dict[str, Any]],
) -> None:
    for name, service in merged.items():
        build = service.get("build")
        if build is None:
            continue
        dockerfile = Path(build["context"]) / build.get("dockerfile", "Dockerfile")
        assert dockerfile.is_file(), f"{name}: {dockerfile} is missing"
        args = build.get("args", {})
        if name in APP_SERVICES or name == "registry-keys":
            assert args["PYTHON_IMAGE"] == BASE_IMAGE, name
        else:
            assert args["BASE_IMAGE"] == BASE_IMAGE, name
            assert "FROM ${BASE_IMAGE}" in dockerfile.read_text(), name


def test_onboarding_resolves_from_the_https_mirror_it_trusts(
    merged: dict[str, dict[str, Any]],
) -> None:
    onboarding = merged["onboarding"]
    env = onboarding["environment"]
    assert env["MODELBAY_ONBOARDING_PIP_INDEX_URL"] == "https://pypi-mirror:8443/simple/"
    ca = env["MODELBAY_ONBOARDING_PIP_CERT"]
    assert any(str(volume).endswith(f"{ca}:ro") for volume in onboarding["volumes"])
    assert onboarding["depends_on"]["pypi-mirror"] == {"condition": "service_healthy"}
    mirror_volumes = " ".join(merged["pypi-mirror"]["volumes"])
    assert "var/compose/pypi:/srv/pypi:ro" in mirror_volumes
    assert "var/compose/pypi-tls:/srv/tls:ro" in mirror_volumes


def test_the_s3_stand_in_serves_and_checks_the_key_the_services_use(
    merged: dict[str, dict[str, Any]],
) -> None:
    minio, setup = merged["minio"], merged["minio-setup"]
    assert minio["command"] == ["serve"]
    assert setup["entrypoint"][-1].endswith("s3_stand_in.py")
    assert setup["command"] == ["check", "http://minio:9000"]
    blob_url = merged["builder"]["environment"]["MODELBAY_BLOB_URL"]
    for env in (minio["environment"], setup["environment"]):
        assert blob_url.startswith(f"s3://{env['APP_ACCESS_KEY']}:{env['APP_SECRET_KEY']}@minio:")
        assert f"/{env['BUCKET']}?" in blob_url


def test_the_service_image_installs_only_from_the_host_wheelhouse() -> None:
    dockerfile = DOCKERFILE.read_text()
    assert "PIP_NO_INDEX=1" in dockerfile
    assert "--require-hashes" in dockerfile
    assert 'python -m "modelbay_${MODELBAY_SERVICE}"' in dockerfile
    # Numeric, so Kubernetes' runAsNonRoot can check it.
    assert re.search(r"^USER \d+$", dockerfile, re.MULTILINE)
    ignore = (DEPLOY / "Dockerfile.service.dockerignore").read_text().split()
    assert ignore[ignore.index("**") :] == [
        "**",
        "!var/compose/wheelhouse/requirements/**",
        "!var/compose/wheelhouse/third-party/**",
        "!var/compose/wheelhouse/members/**",
    ]


def test_the_baked_runtime_wheel_name_matches_the_runtime_version() -> None:
    project = tomllib.loads((REPO_ROOT / "libs/runtime/pyproject.toml").read_text())["project"]
    wheel = f"modelbay_runtime-{project['version']}-py3-none-any.whl"
    assert f"MODELBAY_BUILDER_RUNTIME_WHEEL=/app/runtime/{wheel}" in DOCKERFILE.read_text()


def test_the_wheelhouse_builds_every_member_the_images_install() -> None:
    script = (REPO_ROOT / "scripts/compose/wheelhouse.sh").read_text()
    members = re.search(r"^MEMBERS=\(([^)]*)\)", script, re.MULTILINE)
    services = re.search(r"^SERVICES=\(([^)]*)\)", script, re.MULTILINE)
    assert members
    assert services
    assert set(members.group(1).split()) == {"common", "runtime", *APP_SERVICES}
    assert tuple(services.group(1).split()) == APP_SERVICES
