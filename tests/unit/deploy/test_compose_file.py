"""The structure of deploy/docker-compose.yml: which services exist, that every dependency waits
on a health check or a finished one-shot, and that the services are wired to the infrastructure
the way the platform's settings read it. `docker-compose config` (Debian's docker-compose,
installed by `make setup`) validates it against the Compose schema; it reads files only, no
network. The stack itself runs in tests/e2e/test_compose_stack.py (with the local override);
the override and the service Dockerfile are checked in test_compose_local.py.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
DEPLOY = REPO_ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"

INFRASTRUCTURE = {"postgres", "rabbitmq", "minio", "minio-setup", "registry", "registry-keys"}
# The ports of docs/pipeline.md ("port (stack)").
APP_PORTS = {"gateway": 8000, "onboarding": 8001, "builder": 8002, "catalog": 8003}
ONE_SHOTS = {"minio-setup", "registry-keys"}
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")


def interpolate(value: Any) -> Any:
    """Resolve ${NAME:-default} to its default, as compose does with an empty environment."""
    if isinstance(value, str):
        return INTERPOLATION.sub(lambda match: match.group("default") or "", value)
    if isinstance(value, dict):
        return {key: interpolate(item) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item) for item in value]
    return value


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return interpolate(loaded)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def env_of(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment", {})
    assert isinstance(environment, dict), "environment is written as a mapping"
    return {key: str(value) for key, value in environment.items()}


def test_the_stack_has_the_infrastructure_and_the_four_services(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == INFRASTRUCTURE | set(APP_PORTS)


def test_every_long_running_service_has_a_healthcheck(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name in ONE_SHOTS:
            continue
        test = service.get("healthcheck", {}).get("test")
        assert isinstance(test, list), f"{name} has no healthcheck"
        assert test[0] in {"CMD", "CMD-SHELL"}, f"{name}: healthcheck must be exec or shell form"
        assert len(test) > 1, f"{name}: healthcheck has no command"


def test_dependencies_wait_for_health_or_completion(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert isinstance(depends_on, dict), f"{name}: depends_on needs conditions, not a list"
        for dependency, rule in depends_on.items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            expected = (
                "service_completed_successfully" if dependency in ONE_SHOTS else "service_healthy"
            )
            assert rule == {"condition": expected}, f"{name} -> {dependency}: {rule}"


def test_app_services_wait_for_all_infrastructure_they_use(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in APP_PORTS:
        depends_on = set(services[name]["depends_on"])
        assert {"postgres", "rabbitmq", "minio-setup"} <= depends_on, name
    assert "registry" in services["builder"]["depends_on"]
    assert set(APP_PORTS) - {"gateway"} <= set(services["gateway"]["depends_on"])


def test_the_registry_is_behind_token_auth_with_the_keys_the_minters_use(
    services: dict[str, dict[str, Any]],
) -> None:
    registry, keys = services["registry"], services["registry-keys"]
    assert keys["restart"] == "no"
    assert "modelbay_common.registry_auth generate /auth" in " ".join(keys["command"])
    assert "registry-auth:/auth" in keys["volumes"]
    assert registry["depends_on"]["registry-keys"] == {
        "condition": "service_completed_successfully"
    }
    env = env_of(registry)
    assert env["REGISTRY_AUTH"] == "token"
    assert env["REGISTRY_AUTH_TOKEN_REALM"] == "http://127.0.0.1:8000/v1/registry/token"
    assert env["REGISTRY_AUTH_TOKEN_ROOTCERTBUNDLE"] == "/auth/registry-token.crt"
    assert "registry-auth:/auth:ro" in registry["volumes"]
    for minter in ("builder", "gateway"):
        assert env_of(services[minter])["MODELBAY_REGISTRY_TOKEN_KEY_FILE"] == (
            "/auth/registry-token.key"
        )
        assert "registry-auth:/auth:ro" in services[minter]["volumes"]
    for name in ("onboarding", "catalog"):  # the key stays with those who mint
        assert "registry-auth:/auth:ro" not in services[name].get("volumes", [])


def test_bucket_setup_is_a_one_shot_after_minio(services: dict[str, dict[str, Any]]) -> None:
    setup = services["minio-setup"]
    assert setup["restart"] == "no"
    assert setup["image"].startswith("minio/mc:")
    script = " ".join(setup["command"])
    assert "mc mb --ignore-existing local/modelbay" in script
    assert "mc admin user add" in script


@pytest.mark.parametrize(("name", "port"), sorted(APP_PORTS.items()))
def test_app_service_build_command_port_and_healthcheck(
    services: dict[str, dict[str, Any]], name: str, port: int
) -> None:
    service = services[name]
    assert service["build"]["dockerfile"] == "deploy/Dockerfile.service"
    assert (DEPLOY / service["build"]["context"] / "deploy/Dockerfile.service").is_file()
    assert service["build"]["args"] == {"SERVICE": name}
    assert service["command"] == ["python", "-m", f"modelbay_{name}"]
    env = env_of(service)
    assert env[f"MODELBAY_{name.upper()}_HTTP_PORT"] == str(port)
    assert env["MODELBAY_HTTP_HOST"] == "0.0.0.0"
    assert f"http://127.0.0.1:{port}/healthz" in " ".join(service["healthcheck"]["test"])


@pytest.mark.parametrize("name", sorted(APP_PORTS))
def test_app_service_is_wired_to_postgres_rabbitmq_and_minio(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    env = env_of(services[name])
    postgres_env = env_of(services["postgres"])
    rabbit_env = env_of(services["rabbitmq"])

    database = urlsplit(env["MODELBAY_DATABASE_URL"])
    assert database.scheme == "postgresql+asyncpg"
    assert (database.hostname, database.port) == ("postgres", 5432)
    assert (database.username, database.password) == (
        postgres_env["POSTGRES_USER"],
        postgres_env["POSTGRES_PASSWORD"],
    )
    assert database.path == f"/{postgres_env['POSTGRES_DB']}"

    bus = urlsplit(env["MODELBAY_BUS_URL"])
    assert (bus.scheme, bus.hostname, bus.port) == ("amqp", "rabbitmq", 5672)
    assert (bus.username, bus.password) == (
        rabbit_env["RABBITMQ_DEFAULT_USER"],
        rabbit_env["RABBITMQ_DEFAULT_PASS"],
    )

    blob = urlsplit(env["MODELBAY_BLOB_URL"])
    setup_env = env_of(services["minio-setup"])
    assert (blob.scheme, blob.hostname, blob.port, blob.path) == ("s3", "minio", 9000, "/modelbay")
    assert unquote(blob.username or "") == setup_env["APP_ACCESS_KEY"]
    assert unquote(blob.password or "") == setup_env["APP_SECRET_KEY"]
    assert "secure=false" in blob.query


def test_builder_drives_the_host_engine_and_pushes_to_the_published_registry(
    services: dict[str, dict[str, Any]],
) -> None:
    builder = services["builder"]
    env = env_of(builder)
    assert "/var/run/docker.sock:/var/run/docker.sock" in builder["volumes"]
    assert env["DOCKER_HOST"] == "unix:///var/run/docker.sock"
    # The host's engine pushes, so the registry must be named as the host sees it.
    assert "127.0.0.1:5000:5000" in services["registry"]["ports"]
    assert env["MODELBAY_REGISTRY"] == "127.0.0.1:5000"
    assert services["registry"]["environment"]["REGISTRY_STORAGE_DELETE_ENABLED"] == "true"


def test_builder_reaches_the_registry_under_the_name_the_engine_pushes_to(
    services: dict[str, dict[str, Any]],
) -> None:
    """The builder asks the registry for existing tags at MODELBAY_REGISTRY; inside its own
    container 127.0.0.1 would be itself, so it lives in the registry's network namespace, where
    the registry listens on the port it is published on."""
    registry, builder = services["registry"], services["builder"]
    assert builder["network_mode"] == "service:registry"
    assert "ports" not in builder  # impossible with a shared namespace, and internal anyway
    assert registry["environment"]["REGISTRY_HTTP_ADDR"] == "0.0.0.0:5000"
    assert "builder" in registry["networks"]["default"]["aliases"]
    host_port = env_of(builder)["MODELBAY_REGISTRY"].rsplit(":", 1)[1]
    assert f"127.0.0.1:{host_port}:{host_port}" in registry["ports"]


def test_gateway_is_the_only_public_app_service_and_knows_the_others(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in set(APP_PORTS) - {"gateway"}:
        assert "ports" not in services[name], f"{name} must stay internal"
    assert services["gateway"]["ports"] == ["127.0.0.1:8000:8000"]
    env = env_of(services["gateway"])
    for name in set(APP_PORTS) - {"gateway"}:
        assert env[f"MODELBAY_GATEWAY_{name.upper()}_URL"] == f"http://{name}:{APP_PORTS[name]}"


def test_published_ports_bind_to_loopback_only(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        for mapping in service.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name} publishes {mapping}"


def test_the_postgres_init_script_creates_one_schema_per_service() -> None:
    sql = (DEPLOY / "postgres" / "10-schemas.sql").read_text()
    for name in APP_PORTS:
        assert f"CREATE SCHEMA IF NOT EXISTS {name} AUTHORIZATION modelbay;" in sql


def test_the_gateway_needs_an_admin_token_from_the_operator(
    services: dict[str, dict[str, Any]],
) -> None:
    env = env_of(services["gateway"])
    assert env["MODELBAY_GATEWAY_ADMIN_USERNAME"] == "admin"
    # `:?`: compose refuses to start without it instead of starting a gateway nobody can use.
    assert env["MODELBAY_GATEWAY_ADMIN_TOKEN"].startswith("${MODELBAY_ADMIN_TOKEN:?")


def test_docker_compose_config_refuses_to_run_without_an_admin_token(tmp_path: Path) -> None:
    result = compose_config(tmp_path, f"MODELBAY_INTERNAL_SECRET={'s' * 32}\n")
    assert result.returncode != 0
    assert "MODELBAY_ADMIN_TOKEN" in result.stderr


def test_docker_compose_config_refuses_to_run_without_an_internal_secret(tmp_path: Path) -> None:
    # Without it each service would sign and verify with a secret of its own (issue 11, defect 8).
    result = compose_config(tmp_path, f"MODELBAY_ADMIN_TOKEN={'t' * 32}\n")
    assert result.returncode != 0
    assert "MODELBAY_INTERNAL_SECRET" in result.stderr


def compose_config(tmp_path: Path, env_text: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail(
            "docker-compose is not installed; run `make setup` (apt package docker-compose)"
        )
    # Only this env file: the defaults are what is checked, not this shell's variables (e.g. a
    # sourced var/services.env) or an operator's deploy/.env.
    env_file = tmp_path / "test.env"
    env_file.write_text(env_text)
    return subprocess.run(
        [executable, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    secrets = f"MODELBAY_ADMIN_TOKEN={'t' * 32}\nMODELBAY_INTERNAL_SECRET={'s' * 32}\n"
    result = compose_config(tmp_path, secrets)
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    assert set(rendered["services"]) == INFRASTRUCTURE | set(APP_PORTS)
    builder_env = rendered["services"]["builder"]["environment"]
    assert builder_env["MODELBAY_BLOB_URL"].startswith("s3://modelbay-app:modelbay-app-secret@")
