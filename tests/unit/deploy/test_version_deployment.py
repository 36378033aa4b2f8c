"""Deployment artifacts of a version (modelbay_common.deployment): every overlay of a model's
and of a solution's Kustomize tree renders with `kubectl kustomize` (offline) and every object
is valid against the Kubernetes schemas (`kubernetes-validate`, strict), as the platform's own
tree is checked in test_kubernetes_manifests.py. The compose file passes `docker-compose config`.
Then what the objects say: probes on the runtime's health paths, non-root read-only root,
images pinned by digest, an autoscaler per Deployment, resources from the idle memory, and the
gRPC port (8081, `grpc`, h2c) declared exactly for the images that serve it.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from modelbay_common.deployment import (
    FACTS_FILE,
    OVERLAYS,
    DeploymentFacts,
    DeploymentNotPossible,
    NodeImage,
    deployment_archive,
    deployment_files,
    model_deployment,
    pinned_image,
    resources_for,
    solution_deployment,
)
from modelbay_common.deployment.kustomize import resource_name

KUBERNETES_VERSION = "1.32.0"  # as the platform manifests' test
MIB = 1024 * 1024
DIGEST = "sha256:" + "a" * 64
NODE_DIGEST = "sha256:" + "b" * 64


def model_facts(idle: int | None = 180 * MIB, grpc_port: int | None = 8081) -> DeploymentFacts:
    return model_deployment(
        "alice",
        "iris",
        3,
        image_ref="127.0.0.1:5000/alice/iris:3",
        image_digest=DIGEST,
        idle_memory_bytes=idle,
        grpc_port=grpc_port,
    )


def solution_facts() -> DeploymentFacts:
    nodes = [
        NodeImage(
            node_id,
            f"alice/{model}:1",
            f"registry.example/alice/{model}:1",
            NODE_DIGEST,
            grpc_port=grpc_port,
        )
        for node_id, model, grpc_port in (
            ("detect_a", "detector-a", 8081),
            ("detect_b", "detector-b", 8081),
            ("combine", "combine", None),  # a pre-built image: HTTP only
        )
    ]
    return solution_deployment(
        "alice",
        "fig5",
        2,
        image_ref="registry.example/alice/fig5:2",
        image_digest=DIGEST,
        nodes=nodes,
        idle_memory_bytes=90 * MIB,
    )


def prebuilt_facts() -> DeploymentFacts:
    """A pre-built image in another language: its own server, HTTP only."""
    return model_facts(grpc_port=None)


FACTS = {"model": model_facts, "prebuilt": prebuilt_facts, "solution": solution_facts}


def render(tree: dict[str, bytes], overlay: str, root: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is not installed (scripts/bootstrap.sh; see docs/deploy.md)")
    for path, content in tree.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    result = subprocess.run(
        [kubectl, "kustomize", str(root / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {overlay}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


@pytest.fixture(params=[(facts, overlay) for facts in FACTS for overlay in OVERLAYS], ids=str)
def rendered(
    request: pytest.FixtureRequest, tmp_path: Path
) -> tuple[DeploymentFacts, str, list[dict[str, Any]]]:
    facts_name, overlay = request.param
    facts = FACTS[facts_name]()
    return facts, overlay, render(deployment_files(facts, "kustomize"), overlay, tmp_path)


def test_every_rendered_object_is_valid_kubernetes(
    rendered: tuple[DeploymentFacts, str, list[dict[str, Any]]],
) -> None:
    _, overlay, objects = rendered
    assert objects
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            name = f"{obj['kind']}/{obj['metadata']['name']}"
            pytest.fail(f"{overlay}: {name}: {error.message} at {list(error.path)}")


def test_each_container_has_a_deployment_service_and_autoscaler(
    rendered: tuple[DeploymentFacts, str, list[dict[str, Any]]],
) -> None:
    facts, overlay, objects = rendered
    deployments = of_kind(objects, "Deployment")
    assert len(deployments) == len(facts.containers)
    assert set(of_kind(objects, "Service")) == set(deployments)
    autoscalers = of_kind(objects, "HorizontalPodAutoscaler")
    assert set(autoscalers) == set(deployments)
    minimum, maximum, budget = OVERLAYS[overlay]
    for name, autoscaler in autoscalers.items():
        spec = autoscaler["spec"]
        assert spec["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": name,
        }
        assert (spec["minReplicas"], spec["maxReplicas"]) == (minimum, maximum)
        assert spec["metrics"][0]["resource"]["name"] == "cpu"
        assert "replicas" not in deployments[name]["spec"], "the autoscaler owns the count"
    assert (set(of_kind(objects, "PodDisruptionBudget")) == set(deployments)) is budget


def test_probes_are_the_runtime_health_paths(
    rendered: tuple[DeploymentFacts, str, list[dict[str, Any]]],
) -> None:
    _, _, objects = rendered
    for name, deployment in of_kind(objects, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["ports"][0] == {"name": "http", "containerPort": 8080}, name
        paths = {probe: container[probe]["httpGet"] for probe in
                 ("startupProbe", "livenessProbe", "readinessProbe")}  # fmt: skip
        assert paths["readinessProbe"] == {"path": "/readyz", "port": "http"}, name
        assert paths["livenessProbe"] == {"path": "/healthz", "port": "http"}, name
        assert paths["startupProbe"] == {"path": "/healthz", "port": "http"}, name


def test_the_grpc_port_is_declared_where_the_image_serves_it(
    rendered: tuple[DeploymentFacts, str, list[dict[str, Any]]],
) -> None:
    """Container port 8081 named `grpc` and a Service port of that name with appProtocol h2c
    (cleartext HTTP/2) for images that serve gRPC; nothing of it for the others."""
    facts, _, objects = rendered
    services = of_kind(objects, "Service")
    by_name = {resource_name(facts, container): container for container in facts.containers}
    # The model and the solution's two detectors serve gRPC; the pre-built ones do not.
    assert {n for n, c in by_name.items() if c.grpc_port} <= {
        "iris",
        "fig5-detect-a",
        "fig5-detect-b",
    }
    for name, deployment in of_kind(objects, "Deployment").items():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        service_ports = services[name]["spec"]["ports"]
        http = {"name": "http", "port": 8080, "targetPort": "http"}
        if by_name[name].grpc_port:
            assert container["ports"] == [
                {"name": "http", "containerPort": 8080},
                {"name": "grpc", "containerPort": 8081},
            ], name
            grpc = {"name": "grpc", "port": 8081, "targetPort": "grpc"}
            assert service_ports == [http, {**grpc, "appProtocol": "kubernetes.io/h2c"}], name
        else:
            assert container["ports"] == [{"name": "http", "containerPort": 8080}], name
            assert service_ports == [http], name


def test_non_root_read_only_root_and_no_capabilities(
    rendered: tuple[DeploymentFacts, str, list[dict[str, Any]]],
) -> None:
    _, _, objects = rendered
    for name, deployment in of_kind(objects, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] == 10001, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert pod["automountServiceAccountToken"] is False, name
        (container,) = pod["containers"]
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"] == {"drop": ["ALL"]}, name
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        (mount,) = container["volumeMounts"]
        assert mount["mountPath"] == "/tmp", name
        assert "emptyDir" in volumes[mount["name"]], name


def test_images_are_pinned_by_digest(
    rendered: tuple[DeploymentFacts, str, list[dict[str, Any]]],
) -> None:
    facts, _, objects = rendered
    images = {
        container["image"]
        for deployment in of_kind(objects, "Deployment").values()
        for container in deployment["spec"]["template"]["spec"]["containers"]
    }
    assert images == {container.image for container in facts.containers}
    for image in images:
        repository, at, digest = image.partition("@")
        assert at, image
        assert digest.startswith("sha256:"), image
        assert ":" not in repository.rsplit("/", 1)[1], image


def test_the_orchestrator_is_told_where_each_node_service_is(tmp_path: Path) -> None:
    objects = render(deployment_files(solution_facts(), "kustomize"), "production", tmp_path)
    deployments = of_kind(objects, "Deployment")
    services = set(of_kind(objects, "Service"))
    (front,) = deployments["fig5"]["spec"]["template"]["spec"]["containers"]
    env = {variable["name"]: variable["value"] for variable in front["env"]}
    nodes = json.loads(env["MODELBAY_SOLUTION_NODES"])
    assert nodes == {
        "combine": "http://fig5-combine:8080",
        "detect_a": "http://fig5-detect-a:8080",
        "detect_b": "http://fig5-detect-b:8080",
    }
    assert {url.split("//")[1].split(":")[0] for url in nodes.values()} <= services


def test_resources_follow_the_measured_idle_memory(tmp_path: Path) -> None:
    objects = render(deployment_files(model_facts(180 * MIB), "kustomize"), "dev", tmp_path)
    (container,) = of_kind(objects, "Deployment")["iris"]["spec"]["template"]["spec"]["containers"]
    assert container["resources"] == {
        "requests": {"cpu": "100m", "memory": "272Mi"},  # 1.5 × 180 MiB, to 16 MiB
        "limits": {"cpu": "1", "memory": "544Mi"},  # 3 ×
    }


def test_resource_rule() -> None:
    assert resources_for(10 * MIB).memory_request == "128Mi"  # floors
    assert resources_for(10 * MIB).memory_limit == "256Mi"
    unmeasured = resources_for(None)
    assert (unmeasured.memory_request, unmeasured.memory_limit, unmeasured.measured) == (
        "256Mi",
        "1024Mi",
        False,
    )


def test_pinning_refuses_what_is_not_a_registry_image_with_a_digest() -> None:
    assert pinned_image("h:5000/a/b:3", DIGEST) == f"h:5000/a/b@{DIGEST}"
    assert pinned_image("h:5000/a/b", DIGEST) == f"h:5000/a/b@{DIGEST}"
    with pytest.raises(DeploymentNotPossible, match="local process"):
        pinned_image("local-process://127.0.0.1:4000/a/b/3", DIGEST)
    with pytest.raises(DeploymentNotPossible, match="no sha256 digest"):
        pinned_image("h:5000/a/b:3", None)
    with pytest.raises(DeploymentNotPossible, match="node combine"):
        solution_deployment(
            "a", "s", 1, image_ref="h/a/s:1", image_digest=DIGEST,
            nodes=[NodeImage("combine", "a/c:1", "h/a/c:1", None)],
        )  # fmt: skip


@pytest.mark.parametrize("facts_name", sorted(FACTS))
def test_compose_file_is_valid_and_hardened(facts_name: str, tmp_path: Path) -> None:
    facts = FACTS[facts_name]()
    files = deployment_files(facts, "compose")
    (tmp_path / "docker-compose.yml").write_bytes(files["docker-compose.yml"])
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.fail("docker-compose is not installed (scripts/bootstrap.sh)")
    checked = subprocess.run(
        [compose, "-f", str(tmp_path / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    services = yaml.safe_load(files["docker-compose.yml"])["services"]
    assert set(services) == {container.key for container in facts.containers}
    for name, service in services.items():
        assert "@sha256:" in service["image"], name
        assert service["read_only"] is True, name
        assert service["user"] == "10001:10001", name
        assert service["cap_drop"] == ["ALL"], name
        assert service["labels"]["dev.modelbay.deployment"] == facts.reference, name
        assert "/readyz" in service["healthcheck"]["test"][-1], name
        assert ("ports" in service) is (name == facts.front.key), name
    front, grpc = services[facts.front.key], facts.front.grpc_port
    expected = ["${MODELBAY_BIND:-127.0.0.1}:${MODELBAY_PORT:-8080}:8080"]
    if grpc:
        expected.append("${MODELBAY_BIND:-127.0.0.1}:${MODELBAY_GRPC_PORT:-8081}:8081")
    assert front["ports"] == expected
    for node in facts.nodes:  # reached on the project's network: exposed, never published
        assert services[node.key].get("expose") == (["8081"] if node.grpc_port else None)
    if facts.nodes:
        front = services[facts.front.key]
        assert set(front["depends_on"]) == {node.key for node in facts.nodes}
        nodes = json.loads(front["environment"]["MODELBAY_SOLUTION_NODES"])
        assert nodes["detect_a"] == "http://detect-a:8080"


def test_archives_hold_the_same_files_and_are_reproducible() -> None:
    facts = solution_facts()
    name, tar_bytes = deployment_archive(facts, "kustomize", "tar.gz")
    assert name == "alice-fig5-2-kustomize.tar.gz"
    assert deployment_archive(facts, "kustomize", "tar.gz")[1] == tar_bytes
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as archive:
        in_tar = {m.name: archive.extractfile(m).read() for m in archive.getmembers() if m.isfile()}  # type: ignore[union-attr]
    zip_name, zip_bytes = deployment_archive(facts, "kustomize", "zip")
    assert zip_name == "alice-fig5-2-kustomize.zip"
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        in_zip = {name: archive.read(name) for name in archive.namelist()}
    assert in_tar == in_zip
    root = "alice-fig5-2-kustomize/"
    assert json.loads(in_tar[root + FACTS_FILE])["reference"] == "alice/fig5:2"
    assert root + "overlays/production/kustomization.yaml" in in_tar
