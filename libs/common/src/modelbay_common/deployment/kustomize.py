"""A Kustomize tree for a version: a base and the `dev` and `production` overlays.

    base/kustomization.yaml
    base/<key>.yaml           Deployment + Service (+ HorizontalPodAutoscaler) per container
    overlays/dev/             one replica at most two, no disruption budget
    overlays/production/      two to ten replicas per container, a PodDisruptionBudget each

Each container declares its HTTP port `http` and, when the image serves gRPC, `grpc` (the
Service's port of that name carries `appProtocol: kubernetes.io/h2c`: cleartext HTTP/2, so an
ingress or mesh that reads it proxies gRPC rather than HTTP/1.1). Each Deployment runs the image
by digest as the image's non-root user on a read-only root
filesystem (an `emptyDir` on `/tmp`, which is `HOME`), with a startup and liveness probe on the
runtime's `/healthz` and a readiness probe on `/readyz`, and requests/limits from the measured
idle memory. A solution's node URLs reach the orchestrator in `MODELBAY_SOLUTION_NODES`, so
its Services may carry the solution's name as a prefix (two solutions can share a namespace).
`kubectl kustomize overlays/production | kubectl apply -f -`, or `kubectl apply -k`.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from modelbay_common.deployment.facts import (
    CONTAINER_PORT,
    FACTS_FILE,
    GRPC_PORT_NAME,
    HEALTH_PATH,
    READY_PATH,
    RUNTIME_USER_ID,
    Container,
    DeploymentFacts,
    dns_label,
)

__all__ = ["OVERLAYS", "kustomize_files", "resource_name"]

TMP_SIZE_LIMIT = "256Mi"
TARGET_CPU_PERCENT = 70
# overlay name → (min replicas, max replicas, PodDisruptionBudget)
OVERLAYS: dict[str, tuple[int, int, bool]] = {
    "dev": (1, 2, False),
    "production": (2, 10, True),
}


def resource_name(facts: DeploymentFacts, container: Container) -> str:
    """The Kubernetes name: the container's key, prefixed by the solution's for a node."""
    if container.role == "node":
        return dns_label(f"{facts.front.key}-{container.key}")
    return container.key


def _labels(facts: DeploymentFacts, container: Container) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": resource_name(facts, container),
        "app.kubernetes.io/instance": resource_name(facts, container),
        "app.kubernetes.io/version": str(facts.version),
        "app.kubernetes.io/component": container.role,
        "app.kubernetes.io/part-of": facts.front.key,
        "app.kubernetes.io/managed-by": "modelbay",
    }


def _probe(path: str, *, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }


def _environment(facts: DeploymentFacts, container: Container) -> list[dict[str, str]]:
    if container is not facts.front or not facts.nodes:
        return []
    hosts = {node.key: resource_name(facts, node) for node in facts.nodes}
    return [
        {
            "name": "MODELBAY_SOLUTION_NODES",
            "value": json.dumps(facts.node_urls(hosts), sort_keys=True),
        }
    ]


def _container_ports(container: Container) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = [{"name": "http", "containerPort": CONTAINER_PORT}]
    if container.grpc_port:
        ports.append({"name": GRPC_PORT_NAME, "containerPort": container.grpc_port})
    return ports


def _service_ports(container: Container) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = [{"name": "http", "port": CONTAINER_PORT, "targetPort": "http"}]
    if container.grpc_port:
        ports.append(
            {
                "name": GRPC_PORT_NAME,
                "port": container.grpc_port,
                "targetPort": GRPC_PORT_NAME,
                "appProtocol": "kubernetes.io/h2c",
            }
        )
    return ports


def _container_spec(facts: DeploymentFacts, container: Container) -> dict[str, Any]:
    resources = container.resources
    spec: dict[str, Any] = {
        "name": container.role,
        "image": container.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": _container_ports(container),
        # Model loading may take minutes (a large pickle); liveness starts after it.
        "startupProbe": _probe(HEALTH_PATH, period=2, failures=90),
        "livenessProbe": _probe(HEALTH_PATH, period=10, failures=3),
        "readinessProbe": _probe(READY_PATH, period=5, failures=3),
        "resources": {
            "requests": {"cpu": resources.cpu_request, "memory": resources.memory_request},
            "limits": {"cpu": resources.cpu_limit, "memory": resources.memory_limit},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUNTIME_USER_ID,
            "runAsGroup": RUNTIME_USER_ID,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }
    environment = _environment(facts, container)
    if environment:
        spec["env"] = environment
    return spec


def _deployment(facts: DeploymentFacts, container: Container) -> dict[str, Any]:
    name = resource_name(facts, container)
    labels = _labels(facts, container)
    selector = {
        key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {"dev.modelbay/model": container.model},
        },
        # No `replicas`: the HorizontalPodAutoscaler owns the count.
        "spec": {
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": RUNTIME_USER_ID,
                        "runAsGroup": RUNTIME_USER_ID,
                        "fsGroup": RUNTIME_USER_ID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [_container_spec(facts, container)],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": TMP_SIZE_LIMIT}}],
                },
            },
        },
    }


def _service(facts: DeploymentFacts, container: Container) -> dict[str, Any]:
    labels = _labels(facts, container)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": resource_name(facts, container), "labels": labels},
        "spec": {
            "selector": {
                key: labels[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")
            },
            "ports": _service_ports(container),
        },
    }


def _autoscaler(facts: DeploymentFacts, container: Container) -> dict[str, Any]:
    name = resource_name(facts, container)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": _labels(facts, container)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": TARGET_CPU_PERCENT},
                    },
                }
            ],
        },
    }


def _disruption_budget(facts: DeploymentFacts, container: Container) -> dict[str, Any]:
    labels = _labels(facts, container)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": resource_name(facts, container), "labels": labels},
        "spec": {
            "minAvailable": 1,
            "selector": {
                "matchLabels": {
                    key: labels[key]
                    for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance")
                }
            },
        },
    }


def _yaml(*documents: dict[str, Any]) -> bytes:
    return yaml.safe_dump_all(documents, sort_keys=False, default_flow_style=False).encode()


def _overlay(facts: DeploymentFacts, minimum: int, maximum: int, budget: bool) -> dict[str, bytes]:
    scale = [
        {"op": "replace", "path": "/spec/minReplicas", "value": minimum},
        {"op": "replace", "path": "/spec/maxReplicas", "value": maximum},
    ]
    kustomization: dict[str, Any] = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": ["../../base"],
        "patches": [
            {
                "target": {"kind": "HorizontalPodAutoscaler"},
                "patch": yaml.safe_dump(scale, sort_keys=False),
            }
        ],
    }
    files: dict[str, bytes] = {}
    if budget:
        kustomization["resources"].append("disruption-budgets.yaml")
        files["disruption-budgets.yaml"] = _yaml(
            *(_disruption_budget(facts, container) for container in facts.containers)
        )
    files["kustomization.yaml"] = _yaml(kustomization)
    return files


def kustomize_files(facts: DeploymentFacts) -> dict[str, bytes]:
    """`{path: content}` of the tree (paths relative to its root), with the facts."""
    files: dict[str, bytes] = {}
    resources = []
    for container in facts.containers:
        path = f"{resource_name(facts, container)}.yaml"
        resources.append(path)
        files[f"base/{path}"] = _yaml(
            _deployment(facts, container),
            _service(facts, container),
            _autoscaler(facts, container),
        )
    files["base/kustomization.yaml"] = _yaml(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
        }
    )
    for overlay, (minimum, maximum, budget) in OVERLAYS.items():
        for path, content in _overlay(facts, minimum, maximum, budget).items():
            files[f"overlays/{overlay}/{path}"] = content
    files[FACTS_FILE] = facts.to_json()
    return files
