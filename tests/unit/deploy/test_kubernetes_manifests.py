"""The platform's Kustomize tree (deploy/kubernetes): every overlay renders with `kubectl
kustomize` (offline; no cluster) and every rendered object is valid against the Kubernetes JSON
schemas (`kubernetes-validate`, strict: unknown fields are errors). Every Deployment runs
non-root on a read-only root with a scratch volume, bounds its resources, migrates its schema in
an init container and probes the health endpoints its service really serves.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[3]
KUSTOMIZE_ROOT = REPO_ROOT / "deploy" / "kubernetes"
OVERLAYS = sorted(p.name for p in (KUSTOMIZE_ROOT / "overlays").iterdir() if p.is_dir())
# The oldest Kubernetes minor still supported upstream when this was written; the schemas of
# newer minors accept everything it does for these kinds.
KUBERNETES_VERSION = "1.32.0"
SERVICES = {"gateway": 8000, "onboarding": 8001, "builder": 8002, "catalog": 8003}
ROUTE = re.compile(r"\.get\(\s*\"(/[a-z]+)\"")
SECRET_NAMES = ("TOKEN", "PASSWORD", "SECRET", "DATABASE_URL", "BUS_URL", "BLOB_URL")


@cache
def render(directory: str) -> tuple[dict[str, Any], ...]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not installed (it renders the Kustomize tree; see docs/deploy.md)")
    result = subprocess.run(
        [kubectl, "kustomize", str(KUSTOMIZE_ROOT / directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory}: {result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def deployments(directory: str) -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc for doc in render(directory) if doc["kind"] == "Deployment"
    }


# Served by every service through its host (modelbay_common.health, modelbay_common.observability).
HOST_GET_ROUTES = {"/healthz", "/readyz", "/metrics"}


def served_get_routes(service: str) -> set[str]:
    """The GET paths the service's own code declares (its api*.py modules) and its host's."""
    package = REPO_ROOT / "services" / service / "src" / f"modelbay_{service}"
    declared = {m for path in package.glob("api*.py") for m in ROUTE.findall(path.read_text())}
    return declared | HOST_GET_ROUTES


def all_containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def test_there_is_a_dev_and_a_production_overlay() -> None:
    assert {"dev", "production"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_is_valid_kubernetes(overlay: str) -> None:
    objects = render(f"overlays/{overlay}")
    assert objects, f"{overlay} renders nothing"
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{overlay}: {name} is invalid: {error.message} at {list(error.path)}")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_four_services_are_deployed_and_the_gateway_has_a_service(overlay: str) -> None:
    assert set(deployments(f"overlays/{overlay}")) == set(SERVICES)
    services = {
        d["metadata"]["name"]: d for d in render(f"overlays/{overlay}") if d["kind"] == "Service"
    }
    assert services["gateway"]["spec"]["selector"] == {"app.kubernetes.io/name": "gateway"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_runs_non_root_on_a_read_only_root(overlay: str) -> None:
    for name, deployment in deployments(f"overlays/{overlay}").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in all_containers(deployment):
            context = container["securityContext"]
            where = f"{name}/{container['name']}"
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert context.get("privileged") is not True, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_an_empty_dir_for_scratch_on_tmp(overlay: str) -> None:
    for name, deployment in deployments(f"overlays/{overlay}").items():
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        (main,) = deployment["spec"]["template"]["spec"]["containers"]
        mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
        assert "emptyDir" in volumes[mounts["/tmp"]], name
        assert volumes[mounts["/tmp"]]["emptyDir"]["sizeLimit"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_requests_and_limits_cpu_and_memory(overlay: str) -> None:
    for name, deployment in deployments(f"overlays/{overlay}").items():
        for container in all_containers(deployment):
            resources = container["resources"]
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[kind]), f"{name}/{container['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_hit_health_endpoints_the_service_serves(overlay: str) -> None:
    for name, deployment in deployments(f"overlays/{overlay}").items():
        (main,) = deployment["spec"]["template"]["spec"]["containers"]
        port = SERVICES[name]
        assert main["ports"] == [{"name": "http", "containerPort": port}], name
        env = {e["name"]: e.get("value") for e in main.get("env", [])}
        assert env[f"MODELBAY_{name.upper()}_HTTP_PORT"] == str(port), name
        routes = served_get_routes(name)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            check = main[probe]["httpGet"]
            assert check["port"] == "http", f"{name} {probe}"
            assert check["path"] in routes, f"{name} {probe} {check['path']} not in {routes}"
        assert main["livenessProbe"]["httpGet"]["path"] == "/healthz", name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_migrations_run_in_an_init_container_of_the_same_image(overlay: str) -> None:
    for name, deployment in deployments(f"overlays/{overlay}").items():
        spec = deployment["spec"]["template"]["spec"]
        (migrate,) = spec["initContainers"]
        assert migrate["command"] == [
            "python", "-m", "modelbay_common.migrations", "upgrade", name,
        ]  # fmt: skip
        assert migrate["image"] == spec["containers"][0]["image"], name


def test_the_base_holds_no_secret_only_references_to_secrets() -> None:
    objects = render("base")
    assert not [o for o in objects if o["kind"] == "Secret"]
    for name, deployment in deployments("base").items():
        for container in all_containers(deployment):
            for variable in container.get("env", []):
                assert not variable["name"].endswith(SECRET_NAMES), f"{name}: {variable['name']}"
            refs = [source.get("secretRef", {}).get("name") for source in container["envFrom"]]
            assert "modelbay-backends" in refs, f"{name}/{container['name']}"
        # Every service signs or verifies internal calls with the one shared secret.
        (main,) = deployment["spec"]["template"]["spec"]["containers"]
        assert {"secretRef": {"name": "modelbay-internal"}} in main["envFrom"], name
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    assert not [key for key in config["data"] if key.endswith(SECRET_NAMES)]


def test_builders_compete_for_the_queue_as_several_replicas_in_production() -> None:
    production = deployments("overlays/production")
    assert production["builder"]["spec"]["replicas"] >= 2
    assert deployments("overlays/dev")["builder"]["spec"]["replicas"] == 1
    env = {
        e["name"]: e.get("value")
        for e in production["builder"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["MODELBAY_BUILDER_MODE"] == "docker"


def test_production_images_are_pinned_by_digest() -> None:
    for name, deployment in deployments("overlays/production").items():
        for container in all_containers(deployment):
            image = container["image"]
            assert re.fullmatch(r"[^:@]+(:\d+)?/[^@:]+@sha256:[0-9a-f]{64}", image), image
            assert image.split("@")[0].endswith(f"/modelbay/{name}"), image


def test_production_enforces_the_restricted_pod_security_profile() -> None:
    (namespace,) = [o for o in render("overlays/production") if o["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
