"""A second version with the same dependencies reuses the dependency layer: the builder reports
the cache hit, and the two images share every layer but the model's own (the last)."""

from __future__ import annotations

from pathlib import Path

import docker
from e2e_client import Gateway, describe_failure
from e2e_models import dump_model, push_bundle
from e2e_runtime import pull


def _layers(client: docker.DockerClient, ref: str, registry_token: str | None) -> list[str]:
    pull(client, ref, registry_token)
    layers: list[str] = client.images.get(ref).attrs["RootFS"]["Layers"]
    return layers


async def test_second_version_reuses_dependency_layer(
    alice: Gateway, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    name, owner = "iris_twice", alice.username
    versions = []
    # Same script and lock; the description differs, so the bundle (and its layer) does too.
    for description in ("first cut", "second cut"):
        out = tmp_path / description.replace(" ", "_")
        bundle = await dump_model("iris_described", name, out, "--description", description)
        pushed = await push_bundle(alice, bundle, f"{owner}/{name}")
        detail = await alice.follow(owner, name, pushed.version)
        assert detail["status"] == "ready", describe_failure(detail)
        versions.append(detail)

    first, second = versions
    assert [first["version"], second["version"]] == [1, 2]
    assert second["image"]["dependency_layer_cached"] is True, second["image"]

    token = await alice.registry_token(first["image_ref"])  # one repository, both versions
    first_layers = _layers(docker_client, first["image_ref"], token)
    second_layers = _layers(docker_client, second["image_ref"], token)
    assert len(first_layers) == len(second_layers)
    assert first_layers[:-1] == second_layers[:-1], "base, venv and runtime layers must be shared"
    assert first_layers[-1] != second_layers[-1], "the model layer holds the new bundle"
