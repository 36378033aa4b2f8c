"""A pre-built image in another language end to end (issue 14): the Node.js example
(`examples/prebuilt-node`) saved with `docker save`, pushed with `modelbay push --image ...
--proto ...` through the gateway, contract-tested in the builder's sandbox, pushed to the registry
and catalogued `ready`; the pulled image answers over JSON and protobuf, and the version's SBOM
lists the image's Debian packages. The same image pushed again with a proto that promises a
method the server lacks ends `failed`, the reason and the failure naming that method.

Saved images are large (the example's tarball is 354 MB, its bundle ~140 MB), past the 8 MiB
upload limit of the session's stack, so this test starts a stack of its own with a limit that
fits (the services' processes, a private vhost and database, the shared backends)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import docker
import httpx
import pytest
from e2e_client import Gateway, describe_failure, new_user
from e2e_models import MODELBAY_CLI, REPO_ROOT, _run
from e2e_runtime import PROTOBUF, call_json, compile_proto, pull, remove_local_image, running_model
from e2e_stack import Backends, StackOptions, start_stack, stop_stack
from google.protobuf.json_format import MessageToDict, ParseDict

EXAMPLE = REPO_ROOT / "examples" / "prebuilt-node"
IMAGE_UPLOAD_BYTES = 512 * 1024 * 1024


async def protobuf_call(url: str, body: dict[str, object]) -> dict[str, object]:
    """POST /model/methods/convert over protobuf with classes from the example's own .proto (the
    contract does not ask a pushed image to serve /model/proto)."""
    classes = compile_proto((EXAMPLE / "model.proto").read_text())
    request = ParseDict(body, classes["thermo.ConvertIn"]())
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(
            f"{url}/model/methods/convert",
            content=request.SerializeToString(),
            headers={"Content-Type": PROTOBUF, "Accept": PROTOBUF},
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(PROTOBUF)
    answer = classes["thermo.ConvertOut"].FromString(response.content)
    return MessageToDict(answer, preserving_proto_field_name=True)


@pytest.fixture
async def alice(
    backends: Backends, python_base_images: dict[str, str], tmp_path: Path
) -> AsyncIterator[Gateway]:
    registered = {"MODELBAY_PYTHON_BASE_IMAGES": json.dumps(python_base_images)}
    options = StackOptions(max_upload_bytes=IMAGE_UPLOAD_BYTES, extra_env=registered)
    stack = await start_stack(backends, tmp_path / "stack", options)
    try:
        async with (
            Gateway(stack.gateway_url, stack.admin_token) as admin,
            await new_user(admin, "alice") as user,
        ):
            yield user
    finally:
        await stop_stack(stack)


@pytest.mark.slow  # builds the example image (cached layers) and moves a 354 MB tarball
async def test_a_node_model_server_goes_from_push_to_ready_and_answers(
    alice: Gateway, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    image_tar = tmp_path / "thermo-node.tar"
    build = ["bash", str(EXAMPLE / "build.sh"), str(image_tar)]
    await asyncio.to_thread(_run, build, dict(os.environ), tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_")}
    env.update(MODELBAY_URL=alice.url, MODELBAY_TOKEN=alice.token)
    push = [str(MODELBAY_CLI), "push", "--image", str(image_tar), "--name", "thermo"]
    push += ["--interface-wait", "0", "--proto"]
    await asyncio.to_thread(_run, [*push, str(EXAMPLE / "model.proto")], env, tmp_path)

    detail = await alice.follow(alice.username, "thermo", 1)
    assert detail["status"] == "ready", describe_failure(detail)
    ref = detail["image_ref"]
    sbom = await alice.http.get(f"/v1/models/{alice.username}/thermo/versions/1/sbom")
    remove_local_image(docker_client, ref)
    pull(docker_client, ref, await alice.registry_token(ref))
    body = {"celsius": [0.0, 100.0, -40.0, 36.6], "label": "ward 3"}
    async with running_model(docker_client, ref) as url:
        over_json = await call_json(url, "convert", body)
        over_protobuf = await protobuf_call(url, body)

    expected = [32.0, 212.0, -40.0, 36.6 * 9 / 5 + 32]
    assert over_json == {"fahrenheit": expected, "label": "ward 3", "count": "4"}
    assert over_protobuf == over_json  # MessageToDict writes int64 as a string too
    assert sbom.status_code == 200, sbom.text
    purls = {c["purl"] for c in sbom.json()["components"]}
    assert any(p.startswith("pkg:deb/debian/nodejs@") for p in purls), sorted(purls)[:10]

    promising = tmp_path / "model.proto"
    promising.write_text(
        (EXAMPLE / "model.proto")
        .read_text()
        .replace(
            "rpc convert (ConvertIn) returns (ConvertOut);",
            "rpc convert (ConvertIn) returns (ConvertOut);\n"
            "  rpc explode (ConvertIn) returns (ConvertOut);",
        )
    )
    await asyncio.to_thread(_run, [*push, str(promising)], env, tmp_path)
    broken = await alice.follow(alice.username, "thermo", 2)
    assert broken["status"] == "failed", describe_failure(broken)
    assert broken["reason"] == "method 'explode': POST with a JSON body answered 404"
    assert broken["failure"]["sample"]["method"] == "explode", describe_failure(broken)
