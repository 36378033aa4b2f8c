"""Federation end to end: two Modelbay instances, A and B, on this machine (issue 12).

A and B are whole stacks (`e2e_federation.py`): two databases, two RabbitMQ vhosts, two S3
prefixes, two signing keys, two registries behind token auth on different ports, one Docker
engine. B's administrator registers A as a peer with a token A's administrator issued (an
ordinary API token of an account on A) and subscribes to all of A's public models; B syncs
only when the test says "sync now".

1. Alice publishes the paper's Fig. 2 model on A. One sync later it is on B: listed with its
   origin, its image in B's registry under the same digest, and a user of B pulls it from B's
   registry with `modelbay pull` (signature verified with B's own `/v1/keys`), runs it and gets
   the classifier's predictions, the same as on A.
2. A second version is built on A, then its manifest is changed in A's registry storage (what
   the signature covers no longer hashes to the signed digest). B's sync asks for it, the
   builder refuses it and B records why; nothing of it is in B's registry.
3. Alice makes the model private on A. At the next sync B withdraws it.

One model build (plus one rebuild of version 2 that reuses the dependency layer); bounded by
the pipeline and mirror bounds only to stop a hung run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest
from e2e_client import Gateway, describe_failure, explain, new_user
from e2e_federation import (
    Instance,
    mirrored_version,
    running_instance,
    sync_now,
    tamper_with_manifest,
    wait_for_mirror_failure,
)
from e2e_models import FIG2_NAME, MODELBAY_CLI, as_fig2_input, fig2_classifier, push_fig2
from e2e_runtime import call_json, remove_local_image, running_model
from e2e_stack import Backends, StackError

PEER = "a"
PUBLICATION = {
    "visibility": "public",
    "description": "Iris species from flower measurements (federation test).",
    "category": "classification",
    "license": "MIT",
}


@pytest.fixture(scope="module")
async def instance_a(
    backends: Backends, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Instance]:
    try:
        async with running_instance(backends, tmp_path_factory.mktemp("instance-a"), "A") as a:
            yield a
    except StackError as exc:
        pytest.fail(f"instance A did not start: {exc}", pytrace=False)


@pytest.fixture(scope="module")
async def instance_b(
    backends: Backends, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Instance]:
    # Only "sync now" reads A's feed: the test decides what B has seen.
    no_loop = {"MODELBAY_CATALOG_FEDERATION_SYNC_ENABLED": "false"}
    try:
        async with running_instance(
            backends, tmp_path_factory.mktemp("instance-b"), "B", no_loop
        ) as b:
            yield b
    except StackError as exc:
        pytest.fail(f"instance B did not start: {exc}", pytrace=False)


@pytest.fixture(scope="module")
async def alice_on_a(instance_a: Instance) -> AsyncIterator[Gateway]:
    async with instance_a.admin() as admin, await new_user(admin, "alice") as alice:
        yield alice


@pytest.fixture(scope="module")
async def admin_b(instance_b: Instance) -> AsyncIterator[Gateway]:
    async with instance_b.admin() as admin:
        yield admin


@pytest.fixture(scope="module")
async def published_on_a(
    alice_on_a: Gateway, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """Fig. 2's model, version 1, ready and public on A."""
    await push_fig2(alice_on_a, tmp_path_factory.mktemp("fig2-v1"))
    detail = await alice_on_a.follow(alice_on_a.username, FIG2_NAME, 1)
    assert detail["status"] == "ready", describe_failure(detail)
    published = await alice_on_a.publish(alice_on_a.username, FIG2_NAME, **PUBLICATION)
    assert published.status_code == 200, explain(published)
    return detail


@pytest.fixture(scope="module")
async def peered(instance_a: Instance, admin_b: Gateway) -> dict[str, Any]:
    """A registered on B with the token of an account A's administrator made for B."""
    async with instance_a.admin() as admin_a, await new_user(admin_a, "peer-b") as account:
        token = account.token
    registered = await admin_b.http.post(
        "/v1/admin/peers",
        json={
            "name": PEER,
            "url": instance_a.gateway_url,
            "token": token,
            "subscriptions": {"all": True},
        },
    )
    assert registered.status_code == 201, explain(registered)
    peer: dict[str, Any] = registered.json()
    assert peer["keys"], "B pinned none of A's signing keys"
    return peer


def _cli(gateway: Gateway, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    env |= {"MODELBAY_URL": gateway.url, "MODELBAY_TOKEN": gateway.token, "COLUMNS": "200"}
    return subprocess.run(
        [str(MODELBAY_CLI), *args], env=env, capture_output=True, text=True, timeout=600
    )


async def test_published_on_a_appears_on_b_and_b_users_pull_it_from_b(
    instance_a: Instance,
    instance_b: Instance,
    published_on_a: dict[str, Any],
    alice_on_a: Gateway,
    admin_b: Gateway,
    peered: dict[str, Any],
    docker_client: docker.DockerClient,
) -> None:
    owner = alice_on_a.username
    outcome = await sync_now(admin_b, PEER)
    assert outcome["requested"] >= 1, outcome

    on_b = await mirrored_version(admin_b, owner, FIG2_NAME, 1)
    assert on_b.get("status") == "ready", (describe_failure(on_b), on_b.get("origin"))
    assert on_b["origin"]["peer"] == PEER
    assert on_b["origin"]["url"] == instance_a.gateway_url
    assert on_b["image_digest"] == published_on_a["image_digest"]
    ref_b = on_b["image_ref"]
    assert ref_b == f"{instance_b.registry.address}/{owner}/{FIG2_NAME}:1"

    # A user of B, who has never heard of A, finds it and pulls it from B's registry.
    async with await new_user(admin_b, "bob") as bob:
        found = await bob.search(q="federation")
        assert found.status_code == 200, explain(found)
        assert (owner, FIG2_NAME) in [(m["owner"], m["name"]) for m in found.json()["items"]]
        proto = await bob.http.get(f"/v1/models/{owner}/{FIG2_NAME}/versions/1/proto")
        assert proto.status_code == 200, explain(proto)
        assert "service Model" in proto.text

        # Nothing of the image left in the engine: every layer comes from B's registry.
        for ref in (published_on_a["image_ref"], ref_b):
            remove_local_image(docker_client, ref)
        pulled = await asyncio.to_thread(_cli, bob, "pull", f"{owner}/{FIG2_NAME}:1")
    assert pulled.returncode == 0, pulled.stdout + pulled.stderr
    pulled_image = docker_client.images.get(ref_b)
    assert any(d.endswith(on_b["image_digest"]) for d in pulled_image.attrs["RepoDigests"])

    clf, x_test = fig2_classifier()
    expected = [int(label) for label in clf.predict(x_test)]
    async with running_model(docker_client, ref_b) as url:
        assert await call_json(url, "classify", as_fig2_input(x_test)) == {"IrisType": expected}


async def test_an_image_tampered_with_on_a_is_refused_by_b(
    instance_a: Instance,
    instance_b: Instance,
    published_on_a: dict[str, Any],
    alice_on_a: Gateway,
    admin_b: Gateway,
    peered: dict[str, Any],
    tmp_path: Path,
) -> None:
    owner = alice_on_a.username
    await push_fig2(alice_on_a, tmp_path)
    v2 = await alice_on_a.follow(owner, FIG2_NAME, 2)
    assert v2["status"] == "ready", describe_failure(v2)
    tamper_with_manifest(instance_a, v2["image_digest"])

    outcome = await sync_now(admin_b, PEER)
    assert outcome["requested"] >= 1, outcome
    status = await wait_for_mirror_failure(admin_b, PEER)
    assert status["mirrors"]["failed"] >= 1, status
    reason = status["last_mirror_failure"] or ""
    assert "modified on the origin" in reason, status

    # Nothing of version 2 reached B's registry.
    token = (
        await admin_b.http.get(
            "/v1/registry/token", params={"scope": f"repository:{owner}/{FIG2_NAME}:pull"}
        )
    ).json()["token"]
    async with httpx.AsyncClient(timeout=30) as client:
        head = await client.head(
            f"http://{instance_b.registry.address}/v2/{owner}/{FIG2_NAME}/manifests/"
            f"{v2['image_digest']}",
            headers={"Authorization": f"Bearer {token}"},
        )
    assert head.status_code == 404, head.status_code


async def test_unpublished_on_a_is_withdrawn_on_b(
    published_on_a: dict[str, Any],
    alice_on_a: Gateway,
    admin_b: Gateway,
    peered: dict[str, Any],
) -> None:
    owner = alice_on_a.username
    await sync_now(admin_b, PEER)  # B knows the model (this test may run alone)
    known = await mirrored_version(admin_b, owner, FIG2_NAME, 1)
    assert known.get("status") == "ready", (describe_failure(known), known.get("origin"))

    private = await alice_on_a.publish(owner, FIG2_NAME, **{**PUBLICATION, "visibility": "private"})
    assert private.status_code == 200, explain(private)
    outcome = await sync_now(admin_b, PEER)
    assert outcome["withdrawn"] >= 1, outcome

    async with await new_user(admin_b, "carol") as carol:
        gone = await carol.version(owner, FIG2_NAME, 1)
        assert gone.status_code in (404, 410), explain(gone)
        found = await carol.search(q="federation")
        assert (owner, FIG2_NAME) not in [(m["owner"], m["name"]) for m in found.json()["items"]]
