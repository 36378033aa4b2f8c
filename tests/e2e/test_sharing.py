"""Sharing: a private model is invisible to everyone else (404, exactly like a model that does not
exist); once its owner publishes it publicly, another user finds it by a word of its description
and pulls its image."""

from __future__ import annotations

import random
import string
from pathlib import Path

import docker
from e2e_client import Gateway, describe_failure, explain
from e2e_models import dump_model, push_bundle
from e2e_runtime import pull, remove_local_image

DOWNLOADS = ("bundle", "proto", "openapi", "sbom", "image")


def _word() -> str:
    """A word no other model's description has (letters only, so full-text search keeps it)."""
    return "petal" + "".join(random.choices(string.ascii_lowercase, k=10))


async def _assert_hidden(bob: Gateway, owner: str, name: str, word: str) -> None:
    missing = await bob.http.get(f"/v1/models/{owner}/no-such-model-{word}")
    assert missing.status_code == 404, explain(missing)
    paths = [f"/v1/models/{owner}/{name}", f"/v1/models/{owner}/{name}/versions/1"]
    paths += [f"/v1/models/{owner}/{name}/versions/1/{kind}" for kind in DOWNLOADS]
    for path in paths:
        response = await bob.http.get(path)
        assert response.status_code == 404, explain(response)
        assert response.headers["content-type"].startswith("application/problem+json")
        # Same answer as for a model that does not exist: nothing leaks that it does.
        assert response.json()["title"] == missing.json()["title"], explain(response)
    for query in ({"q": word}, {"owner": owner}, {"q": name}):
        found = await bob.search(**query)
        assert found.status_code == 200, explain(found)
        assert found.json()["items"] == [], explain(found)


async def test_private_model_hidden_until_published(
    alice: Gateway, bob: Gateway, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    name, word = "iris_shared", _word()
    bundle = await dump_model("iris_described", name, tmp_path / name)
    pushed = await push_bundle(alice, bundle, f"{alice.username}/{name}")
    detail = await alice.follow(alice.username, name, pushed.version)
    assert detail["status"] == "ready", describe_failure(detail)

    await _assert_hidden(bob, alice.username, name, word)

    published = await alice.publish(
        alice.username,
        name,
        visibility="public",
        description=f"Iris species from flower measurements, a {word} classifier.",
        category="classification",
        license="MIT",
    )
    assert published.status_code == 200, explain(published)

    found = await bob.search(q=word)
    assert found.status_code == 200, explain(found)
    hits = [(item["owner"], item["name"]) for item in found.json()["items"]]
    assert hits == [(alice.username, name)], explain(found)

    seen = await bob.version(alice.username, name, pushed.version)
    assert seen.status_code == 200, explain(seen)
    proto = await bob.http.get(f"/v1/models/{alice.username}/{name}/versions/1/proto")
    assert proto.status_code == 200, explain(proto)
    assert "service Model" in proto.text
    ref = seen.json()["image_ref"]
    remove_local_image(docker_client, ref)
    # Public now: bob's own pull token covers alice's image.
    assert pull(docker_client, ref, await bob.registry_token(ref)).endswith(
        seen.json()["image_digest"]
    )
