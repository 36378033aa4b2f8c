"""`modelbay deploy --local`: run a version's deployment on the local Docker engine.

The platform's deployment archive (`GET /v1/.../deploy/compose`) carries
`modelbay-deployment.json`: the containers (a model; or a solution's nodes and orchestrator)
with their images, pinned by digest, and memory. Here, with the `docker` command line only:

1. pull every image by its recorded digest, logged in transparently (`image_pull.py`);
2. create one network, labelled `dev.modelbay.deployment=<owner/name:version>`;
3. start the nodes (host name = their key, which the orchestrator's `MODELBAY_SOLUTION_NODES`
   names), wait until each answers `/readyz`, then the front container, published on
   127.0.0.1:<port> (and its gRPC port, when the facts say it serves one, on
   127.0.0.1:<grpc_port>), and wait for it too.

Every container gets the same label, runs as the image's user on a read-only root with a tmpfs
`/tmp`, no capabilities and its memory limit, as the generated compose file does. `--down`
removes the containers and networks carrying the label of that version, and nothing else. This
module never imports the platform's code: the facts come over `/v1` as JSON.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelbay.client import ModelbayClient, ModelRef
from modelbay.docker_run import published_port
from modelbay.errors import ApiError
from modelbay.image_pull import pull_verified

DEPLOYMENT_LABEL = "dev.modelbay.deployment"  # as modelbay_common.deployment writes it
FACTS_FILE = "modelbay-deployment.json"
READY_WAIT_SECONDS = 180.0
PROBE = (
    "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen("
    "'http://127.0.0.1:8080/readyz', timeout=3).status == 200 else 1)"
)
PYTHON = "/opt/venv/bin/python"  # the interpreter of every model image (builder context.py)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class LocalDeployment:
    reference: str
    url: str
    network: str
    containers: list[str]
    facts: dict[str, Any]
    grpc_address: str | None = None  # 127.0.0.1:<port> when the front serves gRPC


def docker() -> str:
    found = shutil.which("docker")
    if found is None:
        raise ApiError("docker not found", "`modelbay deploy --local` runs containers with Docker")
    return found


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [docker(), *args], capture_output=True, text=True, check=False, env=env, timeout=300
    )
    if result.returncode != 0:
        raise ApiError(f"docker {args[0]} failed", result.stderr.strip() or result.stdout.strip())
    return result.stdout.strip()


def read_facts(archive: bytes) -> dict[str, Any]:
    """The facts file of a deployment archive (`.tar.gz`)."""
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(f"/{FACTS_FILE}"):
                handle = tar.extractfile(member)
                if handle is not None:
                    facts: dict[str, Any] = json.loads(handle.read())
                    return facts
    raise ApiError("not a deployment archive", f"the platform's archive has no {FACTS_FILE}")


def extract(archive: bytes, archive_format: str, directory: Path) -> list[Path]:
    """Unpack an archive of the platform into `directory` (refusing paths that leave it)."""
    directory.mkdir(parents=True, exist_ok=True)
    if archive_format == "zip":
        import zipfile

        with zipfile.ZipFile(io.BytesIO(archive)) as package:
            for name in package.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    raise ApiError("unsafe archive", f"{name} would be written outside {directory}")
            package.extractall(directory)
            return [directory / name for name in package.namelist()]
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        tar.extractall(directory, filter="data")
        return [directory / member.name for member in tar.getmembers() if member.isfile()]


def names(reference: str) -> tuple[str, str]:
    """`(container prefix, network name)` of a version's local deployment."""
    slug = reference.replace("/", "-").replace(":", "-")
    return f"modelbay-{slug}", f"modelbay-{slug}"


def _hardening(container: dict[str, Any], reference: str) -> list[str]:
    return [
        "--label", f"{DEPLOYMENT_LABEL}={reference}",
        "--label", f"dev.modelbay.role={container['role']}",
        "--user", "10001:10001",
        "--read-only",
        "--tmpfs", "/tmp:rw,nosuid,nodev,size=256m",
        "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "--memory", container["memory_limit"].replace("Mi", "m"),
    ]  # fmt: skip


def _wait_ready(name: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        state = _run("inspect", "--format", "{{.State.Status}}", name)
        if state in ("exited", "dead"):
            logs = subprocess.run(
                [docker(), "logs", "--tail", "20", name], capture_output=True, text=True
            )
            raise ApiError(f"{name} stopped", (logs.stdout + logs.stderr).strip()[-2000:])
        probe = subprocess.run(
            [docker(), "exec", name, PYTHON, "-c", PROBE], capture_output=True, check=False
        )
        if probe.returncode == 0:
            return
        time.sleep(0.5)
    raise ApiError(f"{name} did not become ready", f"see `docker logs {name}`")


def _existing(reference: str) -> list[str]:
    found = _run("ps", "-a", "-q", "--filter", f"label={DEPLOYMENT_LABEL}={reference}")
    return found.split()


def deploy_local(
    client: ModelbayClient,
    ref: ModelRef,
    port: int,
    progress: Progress,
    *,
    skip_verify: bool = False,
    grpc_port: int | None = None,
) -> LocalDeployment:
    """Run `ref` here; its gRPC port (when the front serves one) on `grpc_port`, else on a port
    Docker picks free — a fixed default would clash as soon as two models run side by side."""
    assert ref.version is not None
    reference = str(ref)
    if _existing(reference):
        raise ApiError(
            f"{reference} is already deployed here", f"stop it first: modelbay deploy --down {ref}"
        )
    progress(f"fetching the deployment of {reference}")
    facts = read_facts(client.deployment_archive(ref.owner, ref.name, ref.version, "compose"))
    containers: list[dict[str, Any]] = [*facts["nodes"], facts["front"]]
    images = {}
    for container in containers:
        progress(f"pulling {container['model']} ({container['image_digest'][:19]}…)")
        images[container["key"]] = pull_verified(client, container, skip_verify=skip_verify).pinned
    prefix, network = names(reference)
    progress(f"creating the network {network}")
    _run("network", "create", "--label", f"{DEPLOYMENT_LABEL}={reference}", network)
    started: list[str] = []
    deadline = time.monotonic() + READY_WAIT_SECONDS
    try:
        for container in containers:
            name = f"{prefix}-{container['key']}"
            is_front = container is facts["front"]
            options = ["--network", network, "--network-alias", container["key"]]
            if is_front:
                options += ["-p", f"127.0.0.1:{port}:{facts['port']}"]
                if container.get("grpc_port"):
                    host = "" if grpc_port is None else str(grpc_port)
                    options += ["-p", f"127.0.0.1:{host}:{container['grpc_port']}"]
                urls = {
                    node["node_id"]: f"http://{node['key']}:{facts['port']}"
                    for node in facts["nodes"]
                }
                if urls:
                    options += ["-e", f"MODELBAY_SOLUTION_NODES={json.dumps(urls)}"]
            progress(f"starting {container['key']} ({container['role']}: {container['model']})")
            _run("run", "-d", "--name", name, *options, *_hardening(container, reference),
                 images[container["key"]])  # fmt: skip
            started.append(name)
            _wait_ready(name, deadline)
            progress(f"{container['key']} is ready")
    except BaseException:
        down_local(reference, progress=lambda _: None)
        raise
    grpc_address = None
    if facts["front"].get("grpc_port"):
        front_name = f"{prefix}-{facts['front']['key']}"
        bound = published_port(docker(), front_name, int(facts["front"]["grpc_port"]))
        grpc_address = f"127.0.0.1:{bound}"
    return LocalDeployment(
        reference, f"http://127.0.0.1:{port}", network, started, facts, grpc_address
    )


def down_local(reference: str, progress: Progress) -> tuple[list[str], list[str]]:
    """Remove the containers and networks labelled with `reference`; what was removed."""
    label = f"label={DEPLOYMENT_LABEL}={reference}"
    containers = _run("ps", "-a", "--filter", label, "--format", "{{.Names}}").split()
    if containers:
        progress(f"removing {', '.join(containers)}")
        _run("rm", "-f", *containers)
    networks = _run("network", "ls", "--filter", label, "--format", "{{.Name}}").split()
    if networks:
        progress(f"removing the network {', '.join(networks)}")
        _run("network", "rm", *networks)
    return containers, networks
