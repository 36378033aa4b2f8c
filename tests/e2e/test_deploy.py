"""Deployment artifacts and `modelbay deploy`, end to end (issue 10).

A model pushed and built by the stack; then, as its user:

- `GET /v1/.../deploy/compose` gives a `docker-compose.yml` that runs for real on the local
  engine (`docker-compose up -d`, the model called, `down`);
- `GET /v1/.../deploy/kustomize?format=zip` gives the Kustomize tree (its objects are validated
  in tests/unit/deploy); another user gets the no-leak 404, a bad kind a 422 problem;
- `modelbay deploy --output DIR` writes both trees; `modelbay deploy --local` runs the model and
  prints its URL; `modelbay deploy --down` removes exactly what it started (a container with
  the same label of another version is left alone);
- a solution (the paper's Fig. 5) deploys with `--local` as its three nodes and the
  orchestrator on one network, and answers like its nodes called by hand.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import subprocess
import tarfile
import uuid
import zipfile
from pathlib import Path

import docker
import httpx
import pytest
import yaml
from e2e_client import Gateway, describe_failure
from e2e_models import MODELBAY_CLI, dump_model, push_bundle
from e2e_runtime import call_json
from e2e_stack import free_port
from test_solutions import READINGS, by_hand, fig5, push_pieces, push_solution

LABEL = "dev.modelbay.deployment"
BOUND_SECONDS = 300


def modelbay(gateway: Gateway, *args: str) -> str:
    """The `modelbay` command as `gateway`'s user; its output (fails the test on an error)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    env |= {"MODELBAY_URL": gateway.url, "MODELBAY_TOKEN": gateway.token, "COLUMNS": "200"}
    result = subprocess.run(
        [str(MODELBAY_CLI), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"modelbay {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def labelled(client: docker.DockerClient, reference: str) -> tuple[list[str], list[str]]:
    label = f"{LABEL}={reference}"
    containers = client.containers.list(all=True, filters={"label": label})
    networks = client.networks.list(filters={"label": label})
    return [c.name for c in containers], [n.name for n in networks]


async def ready_doubler(alice: Gateway, work: Path) -> str:
    bundle = await dump_model("doubler", "doubler", work / "doubler")
    pushed = await push_bundle(alice, bundle, f"{alice.username}/doubler")
    detail = await alice.follow(alice.username, "doubler", pushed.version)
    assert detail["status"] == "ready", describe_failure(detail)
    return f"{alice.username}/doubler:{pushed.version}"


async def wait_answering(url: str) -> None:
    async with httpx.AsyncClient(timeout=5) as http:
        for _ in range(int(BOUND_SECONDS / 0.5)):
            try:
                if (await http.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise AssertionError(f"{url} never became ready")


def grpc_ready(address: str) -> bool:
    """OIP v2 `ServerReady` over gRPC (tritonclient), as a client of the deployment would."""
    import tritonclient.grpc as triton

    client = triton.InferenceServerClient(address)
    try:
        return bool(client.is_server_ready())
    finally:
        client.close()


def compose(
    directory: Path, project: str, port: int, *args: str, grpc_port: int | None = None
) -> str:
    executable = shutil.which("docker-compose")
    assert executable, "docker-compose is not installed (scripts/bootstrap.sh)"
    env = {**os.environ, "MODELBAY_PORT": str(port)}
    if grpc_port is not None:
        env["MODELBAY_GRPC_PORT"] = str(grpc_port)
    result = subprocess.run(
        [executable, "-p", project, "-f", str(directory / "docker-compose.yml"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=BOUND_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"docker-compose {' '.join(args)}: {result.stderr}"
    return result.stdout


async def test_model_deployment_artifacts_run_for_real(
    alice: Gateway, bob: Gateway, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    reference = await ready_doubler(alice, tmp_path)
    owner_name, version = reference.split(":")
    base = f"/v1/models/{owner_name}/versions/{version}/deploy"

    response = await alice.http.get(f"{base}/compose")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(response.content)) as archive:
        archive.extractall(tmp_path / "compose", filter="data")
    (directory,) = (tmp_path / "compose").iterdir()
    document = yaml.safe_load((directory / "docker-compose.yml").read_text())
    assert "@sha256:" in document["services"]["doubler"]["image"]
    # The builder recorded that the image serves gRPC: the compose file publishes it too.
    assert document["services"]["doubler"]["ports"][1].endswith(":${MODELBAY_GRPC_PORT:-8081}:8081")

    project, port, grpc_port = f"e2e-deploy-{uuid.uuid4().hex[:8]}", free_port(), free_port()
    try:
        await asyncio.to_thread(compose, directory, project, port, "up", "-d", grpc_port=grpc_port)
        url = f"http://127.0.0.1:{port}"
        await wait_answering(url)
        assert await call_json(url, "double", {"x": [1.0, 2.5]}) == {"x": [2.0, 5.0]}
        assert await asyncio.to_thread(grpc_ready, f"127.0.0.1:{grpc_port}")
    finally:
        await asyncio.to_thread(
            compose, directory, project, port, "down", "--volumes", grpc_port=grpc_port
        )
    assert labelled(docker_client, reference) == ([], [])

    kustomize = await alice.http.get(f"{base}/kustomize", params={"format": "zip"})
    assert kustomize.status_code == 200, kustomize.text
    with zipfile.ZipFile(io.BytesIO(kustomize.content)) as archive:
        names = set(archive.namelist())
    root = f"{owner_name.replace('/', '-')}-{version}-kustomize"
    assert f"{root}/overlays/production/kustomization.yaml" in names

    hidden = await bob.http.get(f"{base}/compose")
    assert hidden.status_code == 404, hidden.text
    assert hidden.headers["content-type"].startswith("application/problem+json")
    bad = await alice.http.get(f"{base}/helm")
    assert bad.status_code == 422, bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_modelbay_deploy_output_local_and_down(
    alice: Gateway, docker_client: docker.DockerClient, base_image: str, tmp_path: Path
) -> None:
    reference = await ready_doubler(alice, tmp_path)
    slug = reference.replace("/", "-").replace(":", "-")

    written = await asyncio.to_thread(
        modelbay, alice, "deploy", reference, "--output", str(tmp_path / "out")
    )
    assert "compose: 2 files" in written, written
    assert (tmp_path / "out" / f"{slug}-compose" / "docker-compose.yml").is_file()
    assert (
        tmp_path / "out" / f"{slug}-kustomize" / "overlays" / "dev" / "kustomization.yaml"
    ).is_file()
    # By alias: the version `stable` names now, said so; the version's links name both kinds.
    owner_name, _, number = reference.partition(":")
    moved = await alice.http.put(
        f"/v1/models/{owner_name}/aliases/stable", json={"version": int(number)}
    )
    assert moved.status_code == 200, moved.text
    by_alias = await asyncio.to_thread(
        modelbay,
        alice,
        "deploy",
        f"{owner_name}@stable",
        "--output",
        str(tmp_path / "alias"),
        "--kind",
        "compose",
    )
    assert f"{owner_name}@stable is {reference}" in by_alias, by_alias
    assert (tmp_path / "alias" / f"{slug}-compose" / "docker-compose.yml").is_file()
    links = (await alice.http.get(f"/v1/models/{owner_name}/versions/stable")).json()["links"]
    assert (
        links["deploy-compose"]
        == f"/v1/models/{reference.replace(':', '/versions/')}/deploy/compose"
    )

    # Something else carrying the label of another version: --down must leave it alone.
    other = docker_client.containers.run(
        base_image, ["sleep", "600"], detach=True, labels={LABEL: f"{reference}0"}
    )
    port, grpc_port = free_port(), free_port()
    try:
        output = await asyncio.to_thread(
            modelbay, alice, "deploy", reference, "--local", "--port", str(port),
            "--grpc-port", str(grpc_port),
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        assert re.search(rf"serving at {re.escape(url)}", output), output
        assert f"gRPC (OIP v2 and the model's service): 127.0.0.1:{grpc_port}" in output, output
        assert await call_json(url, "double", {"x": [3.0]}) == {"x": [6.0]}
        assert await asyncio.to_thread(grpc_ready, f"127.0.0.1:{grpc_port}")
        containers, networks = labelled(docker_client, reference)
        assert containers == [f"modelbay-{slug}-doubler"]
        assert networks == [f"modelbay-{slug}"]
    finally:
        stopped = await asyncio.to_thread(modelbay, alice, "deploy", reference, "--down")
    assert "1 container(s), 1 network(s)" in stopped, stopped
    assert labelled(docker_client, reference) == ([], [])
    other.reload()
    assert other.status == "running"
    other.remove(force=True)


@pytest.mark.slow  # builds four images, like test_solutions.py
async def test_solution_deploys_locally_as_its_nodes_and_orchestrator(
    alice: Gateway, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    await push_pieces(alice, tmp_path)
    pushed = await push_solution(alice, fig5(alice.username), "fig5")
    detail = await alice.follow(alice.username, "fig5", pushed.version)
    assert detail["status"] == "ready", describe_failure(detail)
    reference = f"{alice.username}/fig5:{pushed.version}"

    response = await alice.http.get(
        f"/v1/models/{alice.username}/fig5/versions/{pushed.version}/deploy/compose"
    )
    assert response.status_code == 200, response.text
    with tarfile.open(fileobj=io.BytesIO(response.content)) as archive:
        (member,) = [m for m in archive.getmembers() if m.name.endswith("docker-compose.yml")]
        services = yaml.safe_load(archive.extractfile(member).read())["services"]  # type: ignore[union-attr]
    assert set(services) == {"heat", "shake", "rule", "fig5"}

    deployed: list[str] = []
    try:
        direct = {}
        for node in ("heat", "shake", "rule"):  # each node deployed by itself, to call by hand
            port = free_port()
            node_reference = f"{alice.username}/{node}:1"
            await asyncio.to_thread(
                modelbay, alice, "deploy", node_reference, "--local", "--port", str(port)
            )
            deployed.append(node_reference)
            direct[node] = f"http://127.0.0.1:{port}"
        port = free_port()
        output = await asyncio.to_thread(
            modelbay, alice, "deploy", reference, "--local", "--port", str(port)
        )
        deployed.append(reference)
        url = f"http://127.0.0.1:{port}"
        assert f"serving at {url}" in output, output
        containers, networks = labelled(docker_client, reference)
        assert len(containers) == 4, containers
        assert len(networks) == 1, networks
        for reading in READINGS:
            assert await call_json(url, "assess", reading) == await by_hand(direct, reading)
    finally:
        for each in deployed:
            await asyncio.to_thread(modelbay, alice, "deploy", each, "--down")
    for each in deployed:
        assert labelled(docker_client, each) == ([], []), each
