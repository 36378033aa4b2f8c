"""An ONNX model end to end (issue 14): `modelbay push scorer.onnx` through the gateway, the
pipeline takes it to `ready` (its generated sample replayed in the sandboxed image against the
numbers onnxruntime recorded at push time), and the pulled image answers over JSON and protobuf
with exactly the numbers onnxruntime gives in this process."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import docker
import numpy as np
import onnx_graphs
from e2e_client import Gateway, describe_failure
from e2e_models import MODELBAY_CLI, _run
from e2e_runtime import call_json, call_protobuf, pull, remove_local_image, running_model

ROWS = np.array(
    [[0.5, -1.0, 2.0, 0.25], [1.5, 0.0, -0.5, 3.0], [0.0, 0.1, 0.2, 0.3], [-2.0, 1.0, 0.5, 0.0]],
    dtype=np.float32,
)


async def test_onnx_push_ready_pull_run_predict(
    alice: Gateway, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    source = onnx_graphs.save(onnx_graphs.linear_scorer(), tmp_path / "scorer.onnx")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    env.update(MODELBAY_URL=alice.url, MODELBAY_TOKEN=alice.token)
    push = [str(MODELBAY_CLI), "push", str(source), "--interface-wait", "0"]
    await asyncio.to_thread(_run, push, env, tmp_path)

    detail = await alice.follow(alice.username, "scorer", 1)
    assert detail["status"] == "ready", describe_failure(detail)
    ref = detail["image_ref"]
    remove_local_image(docker_client, ref)
    pull(docker_client, ref, await alice.registry_token(ref))

    want = onnx_graphs.in_process_outputs(source, ROWS)
    async with running_model(docker_client, ref) as url:
        over_json = await call_json(url, "predict", {"features_in": ROWS.tolist()})
        over_protobuf = await call_protobuf(
            url,
            "predict",
            {"features_in": {"shape": list(ROWS.shape), "values": ROWS.ravel().tolist()}},
        )

    assert over_json == {"scores": want["scores"].tolist(), "label": want["label"].tolist()}
    scores = over_protobuf["scores"]
    assert [int(d) for d in scores["shape"]] == [4, 3]
    assert np.array_equal(np.array(scores["values"], np.float32), want["scores"].ravel())
    assert [int(label) for label in over_protobuf["label"]] == want["label"].tolist()
