"""What a deployment is made of: the facts of a version the generators turn into files.

A model version deploys as one container; a solution version as its orchestrator (in front,
the only one published) plus one container per node. Every container runs an image the
builder validated, pinned by the digest the registry reported, so a moved tag can never change
what runs. Resources come from the idle memory the builder measured while validating the image
(`resources_for`); without a measurement they fall back to the validation memory limit, which
the image is known to start and answer its samples under.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

__all__ = [
    "CONTAINER_PORT",
    "DEPLOYMENT_LABEL",
    "FACTS_FILE",
    "GRPC_PORT_NAME",
    "HEALTH_PATH",
    "READY_PATH",
    "RUNTIME_USER_ID",
    "Container",
    "DeploymentFacts",
    "DeploymentNotPossible",
    "NodeImage",
    "Resources",
    "dns_label",
    "model_deployment",
    "pinned_image",
    "resources_for",
    "solution_deployment",
]

CONTAINER_PORT = 8080  # the model server's (and the orchestrator's) port in every image
# The runtime's second port (OIP v2 over gRPC and the model's own service, docs/runtime.md
# "gRPC"), on in images the builder built from a Python or ONNX bundle; the builder records
# it per build (null for pre-built images and orchestrators, which serve HTTP only).
GRPC_PORT_NAME = "grpc"
HEALTH_PATH = "/healthz"  # the process is alive (answers at once)
READY_PATH = "/readyz"  # the model is loaded (503 until then)
RUNTIME_USER_ID = 10001  # the numeric user of every model image (builder context.py)
# Every container and network `modelbay deploy --local` starts carries this label, valued
# `owner/name:version`, so `--down` removes exactly those.
DEPLOYMENT_LABEL = "dev.modelbay.deployment"
FACTS_FILE = "modelbay-deployment.json"  # the facts, inside every archive

MIB = 1024 * 1024
# Without a measurement: the builder's default validation limit (the image ran its samples
# under it) as the limit, a quarter of it as the request.
UNMEASURED_LIMIT_BYTES = 1024 * MIB
UNMEASURED_REQUEST_BYTES = 256 * MIB
MIN_REQUEST_BYTES = 128 * MIB
MIN_LIMIT_BYTES = 256 * MIB
# Idle memory is the floor of a serving process; requests grow it (batches, decoded inputs).
REQUEST_FACTOR = 1.5
LIMIT_FACTOR = 3.0
ROUND_TO_BYTES = 16 * MIB
CPU_REQUEST = "100m"
CPU_LIMIT = "1"

_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_NOT_DNS = re.compile(r"[^a-z0-9-]+")


class DeploymentNotPossible(ValueError):
    """The version cannot be deployed from an image (no registry image, no digest)."""


@dataclass(frozen=True)
class Resources:
    memory_request_bytes: int
    memory_limit_bytes: int
    cpu_request: str = CPU_REQUEST
    cpu_limit: str = CPU_LIMIT
    measured: bool = True

    @property
    def memory_request(self) -> str:
        return f"{self.memory_request_bytes // MIB}Mi"

    @property
    def memory_limit(self) -> str:
        return f"{self.memory_limit_bytes // MIB}Mi"


def _round_up(value: float) -> int:
    return int(math.ceil(value / ROUND_TO_BYTES) * ROUND_TO_BYTES)


def resources_for(idle_memory_bytes: int | None) -> Resources:
    """Requests and limits from the measured idle memory: request 1.5×, limit 3× (at least
    128 MiB and 256 MiB, rounded up to 16 MiB)."""
    if not idle_memory_bytes or idle_memory_bytes <= 0:
        return Resources(UNMEASURED_REQUEST_BYTES, UNMEASURED_LIMIT_BYTES, measured=False)
    request = max(MIN_REQUEST_BYTES, _round_up(idle_memory_bytes * REQUEST_FACTOR))
    limit = max(MIN_LIMIT_BYTES, _round_up(idle_memory_bytes * LIMIT_FACTOR), request)
    return Resources(request, limit)


def dns_label(text: str) -> str:
    """A DNS-1123 label (Kubernetes names, compose service names, host names)."""
    label = _NOT_DNS.sub("-", text.lower()).strip("-")[:63].rstrip("-")
    if not label or not label[0].isalpha():
        label = f"m-{label}"[:63].rstrip("-")
    return label


def pinned_image(image_ref: str | None, image_digest: str | None) -> str:
    """`registry/owner/name:3` + `sha256:…` → `registry/owner/name@sha256:…`."""
    if not image_ref or "://" in image_ref:
        raise DeploymentNotPossible(
            f"it has no registry image ({image_ref!r}): it is served as a local process"
            if image_ref
            else "it has no image yet"
        )
    if not image_digest or not _DIGEST.match(image_digest):
        raise DeploymentNotPossible(f"its image {image_ref} has no sha256 digest recorded")
    repository = image_ref.split("@", 1)[0]
    last = repository.rsplit("/", 1)[-1]
    if ":" in last:
        repository = repository.rsplit(":", 1)[0]
    return f"{repository}@{image_digest}"


@dataclass(frozen=True)
class Container:
    """One container: a model server, or a solution's orchestrator or node."""

    key: str  # DNS label: the compose service and the host name on the deployment's network
    role: Literal["model", "orchestrator", "node"]
    model: str  # owner/name:version it runs
    image_ref: str  # the tag the builder pushed (what `docker pull` verifies against)
    image_digest: str
    idle_memory_bytes: int | None = None
    node_id: str | None = None  # a solution node's id in the solution document
    grpc_port: int | None = None  # the image's gRPC port; None when it serves no gRPC

    @property
    def image(self) -> str:
        return pinned_image(self.image_ref, self.image_digest)

    @property
    def resources(self) -> Resources:
        return resources_for(self.idle_memory_bytes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "role": self.role,
            "node_id": self.node_id,
            "model": self.model,
            "image": self.image,
            "image_ref": self.image_ref,
            "image_digest": self.image_digest,
            "idle_memory_bytes": self.idle_memory_bytes,
            "grpc_port": self.grpc_port,
            "memory_request": self.resources.memory_request,
            "memory_limit": self.resources.memory_limit,
        }


@dataclass(frozen=True)
class DeploymentFacts:
    """A version's deployment: the front container (published) and a solution's nodes."""

    owner: str
    name: str
    version: int
    kind: Literal["model", "solution"]
    front: Container
    nodes: tuple[Container, ...] = field(default=())

    @property
    def reference(self) -> str:
        return f"{self.owner}/{self.name}:{self.version}"

    @property
    def containers(self) -> tuple[Container, ...]:
        """Nodes first: they must answer before the orchestrator does."""
        return (*self.nodes, self.front)

    def node_urls(self, host_of: Mapping[str, str]) -> dict[str, str]:
        """`{node id: base URL}` for the orchestrator (`MODELBAY_SOLUTION_NODES`), given each
        node's host name by container key."""
        return {
            str(node.node_id): f"http://{host_of[node.key]}:{CONTAINER_PORT}" for node in self.nodes
        }

    def to_json(self) -> bytes:
        document = {
            "spec": "1",
            "reference": self.reference,
            "kind": self.kind,
            "front": self.front.to_dict(),
            "nodes": [node.to_dict() for node in self.nodes],
            "port": CONTAINER_PORT,
            "health_path": HEALTH_PATH,
            "ready_path": READY_PATH,
        }
        return (json.dumps(document, indent=2) + "\n").encode()


def model_deployment(
    owner: str,
    name: str,
    version: int,
    *,
    image_ref: str | None,
    image_digest: str | None,
    idle_memory_bytes: int | None = None,
    grpc_port: int | None = None,
) -> DeploymentFacts:
    """The deployment of one model version. DeploymentNotPossible without a pinned image."""
    pinned_image(image_ref, image_digest)
    front = Container(
        dns_label(name),
        "model",
        f"{owner}/{name}:{version}",
        str(image_ref),
        str(image_digest),
        idle_memory_bytes,
        grpc_port=grpc_port,
    )
    return DeploymentFacts(owner, name, version, "model", front)


@dataclass(frozen=True)
class NodeImage:
    """A solution node as the solution's resolved document and the node's build know it."""

    node_id: str
    model: str  # owner/name:version
    image_ref: str | None
    image_digest: str | None
    idle_memory_bytes: int | None = None
    grpc_port: int | None = None


def solution_deployment(
    owner: str,
    name: str,
    version: int,
    *,
    image_ref: str | None,
    image_digest: str | None,
    nodes: list[NodeImage],
    idle_memory_bytes: int | None = None,
) -> DeploymentFacts:
    """A solution version: its orchestrator image in front of one container per node."""
    pinned_image(image_ref, image_digest)
    containers = []
    for node in nodes:
        try:
            pinned_image(node.image_ref, node.image_digest)
        except DeploymentNotPossible as exc:
            raise DeploymentNotPossible(f"node {node.node_id} ({node.model}): {exc}") from None
        containers.append(
            Container(
                dns_label(node.node_id.replace("_", "-")),
                "node",
                node.model,
                str(node.image_ref),
                str(node.image_digest),
                node.idle_memory_bytes,
                node.node_id,
                node.grpc_port,
            )
        )
    front = Container(
        dns_label(name),
        "orchestrator",
        f"{owner}/{name}:{version}",
        str(image_ref),
        str(image_digest),
        idle_memory_bytes,
    )
    if front.key in {node.key for node in containers}:
        # A node named like the solution: keep host names unique on the shared network.
        front = replace(front, key=dns_label(f"{name}-orchestrator"))
    return DeploymentFacts(owner, name, version, "solution", front, tuple(containers))
