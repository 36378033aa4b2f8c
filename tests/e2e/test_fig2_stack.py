"""Fig. 2 end to end in stack mode: the paper's script pushes the iris model through the gateway,
the pipeline takes it to `ready`, and an end user pulls the image from the registry into a clean
engine, runs it and gets the model's own predictions over JSON and over protobuf."""

from __future__ import annotations

from pathlib import Path

import docker
from e2e_client import Gateway, describe_failure
from e2e_models import FIG2_NAME, as_fig2_input, fig2_classifier, push_fig2
from e2e_runtime import call_json, call_protobuf, pull, remove_local_image, running_model


async def test_fig2_push_ready_pull_run_predict(
    alice: Gateway, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    await push_fig2(alice, tmp_path)

    detail = await alice.follow(alice.username, FIG2_NAME, 1)
    assert detail["status"] == "ready", describe_failure(detail)
    ref = detail["image_ref"]
    assert ref.endswith(f"/{alice.username}/{FIG2_NAME}:1"), ref
    assert detail["pull_command"] == f"docker pull {ref}"

    remove_local_image(docker_client, ref)
    repo_digest = pull(docker_client, ref, await alice.registry_token(ref))
    assert repo_digest.endswith(detail["image_digest"]), (repo_digest, detail["image_digest"])

    clf, x_test = fig2_classifier()
    expected = [int(label) for label in clf.predict(x_test)]
    request = as_fig2_input(x_test)
    async with running_model(docker_client, ref) as url:
        over_json = await call_json(url, "classify", request)
        over_protobuf = await call_protobuf(url, "classify", request)

    assert over_json == {"IrisType": expected}
    # protobuf's JSON mapping writes int64 as strings; the values are what matters.
    assert [int(label) for label in over_protobuf["IrisType"]] == expected
