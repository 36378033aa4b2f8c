"""Organisations and aliases end to end: a maintainer pushes into an organisation's namespace
on the real stack (builder, registry, Docker), points `stable` at the ready version, and the
`modelbay` CLI reads and pulls `org/name@stable`; a non-member's CLI learns nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from pathlib import Path

import docker
from e2e_client import Gateway, describe_failure, explain, new_user
from e2e_models import MODELBAY_CLI, dump_model, push_bundle
from e2e_runtime import remove_local_image


def _cli(gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    env |= {"MODELBAY_URL": gateway.url, "MODELBAY_TOKEN": gateway.token, "COLUMNS": "200"}
    return subprocess.run(
        [str(MODELBAY_CLI), *args], env=env, capture_output=True, text=True, timeout=600
    )


async def test_a_maintainer_pushes_into_an_org_and_the_cli_pulls_it_by_alias(
    admin: Gateway, alice: Gateway, bob: Gateway, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    org, name = f"lab-{uuid.uuid4().hex[:8]}", "iris_org"
    created = await alice.http.post("/v1/orgs", json={"name": org})
    assert created.status_code == 201, explain(created)
    added = await alice.http.put(
        f"/v1/orgs/{org}/members/{bob.username}", json={"role": "maintainer"}
    )
    assert added.status_code == 200, explain(added)

    bundle = await dump_model("iris_described", name, tmp_path / name)
    pushed = await push_bundle(bob, bundle, f"{org}/{name}")
    detail = await bob.follow(org, name, pushed.version)
    assert detail["status"] == "ready", describe_failure(detail)
    moved = await bob.http.put(
        f"/v1/models/{org}/{name}/aliases/stable", json={"version": pushed.version}
    )
    assert moved.status_code == 200, explain(moved)

    # The organisation's owner reads it through the alias (a private model of her org).
    seen = await alice.http.get(f"/v1/models/{org}/{name}/versions/stable")
    assert seen.status_code == 200, explain(seen)
    assert seen.json()["version"] == pushed.version

    status = await asyncio.to_thread(_cli, bob, "status", f"{org}/{name}@stable", "--no-follow")
    assert status.returncode == 0, status.stdout + status.stderr
    assert "ready" in status.stdout
    remove_local_image(docker_client, detail["image_ref"])
    pulled = await asyncio.to_thread(_cli, bob, "pull", f"{org}/{name}@stable")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    assert f"{org}/{name}:{pushed.version}" in pulled.stdout  # pinned to the version it names

    # Not a member: the model does not exist for her, alias or not.
    async with await new_user(admin, "carol") as carol:
        hidden = await asyncio.to_thread(_cli, carol, "status", f"{org}/{name}@stable")
    assert hidden.returncode != 0
    assert "not found" in (hidden.stdout + hidden.stderr).lower()
