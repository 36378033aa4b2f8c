"""The end user's side: pull a model image from the registry, run it, call it.

Protobuf calls work as an Acumos client's would: the `.proto` comes from the running model
(`GET /model/proto`), is compiled with protoc (grpcio-tools) into a descriptor set, and the
request and response are dynamic message classes of that descriptor set.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import docker
import httpx
from docker.errors import ImageNotFound, NotFound
from e2e_stack import free_port
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.json_format import MessageToDict, ParseDict
from google.protobuf.message import Message

PROTOBUF = "application/x-protobuf"
READY_BOUND_SECONDS = 180.0


def remove_local_image(client: docker.DockerClient, ref: str) -> None:
    """Forget the image locally, so the next run must pull it from the registry."""
    with contextlib.suppress(ImageNotFound):
        client.images.remove(ref, force=True)


def pull(client: docker.DockerClient, ref: str, registry_token: str | None) -> str:
    """`docker pull ref` with a pull token from the gateway (the registry is behind token auth;
    None for an open one); returns the pulled image's repo digest."""
    repository, _, tag = ref.rpartition(":")
    auth_config = {"registrytoken": registry_token} if registry_token else None
    image = client.images.pull(repository, tag=tag, auth_config=auth_config)
    digests: list[str] = image.attrs.get("RepoDigests", [])
    return digests[0] if digests else ""


@contextlib.asynccontextmanager
async def running_model(client: docker.DockerClient, ref: str) -> AsyncIterator[str]:
    """`docker run -p 127.0.0.1:<free>:8080 ref` until ready; yields the base URL."""
    port = free_port()
    container = await asyncio.to_thread(
        client.containers.run,
        ref,
        detach=True,
        ports={"8080/tcp": ("127.0.0.1", port)},
        labels={"dev.modelbay.e2e": "true"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(url, container)
        yield url
    finally:
        with contextlib.suppress(NotFound):
            await asyncio.to_thread(container.remove, force=True)


async def wait_ready(url: str, container: Any) -> None:
    """Until `/readyz` answers 200 (the bound only stops a model that never loads)."""
    deadline = time.monotonic() + READY_BOUND_SECONDS
    async with httpx.AsyncClient(timeout=5) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url + "/readyz")).status_code == 200:
                    return
            await asyncio.to_thread(container.reload)
            if container.status == "exited":
                break
            await asyncio.sleep(0.5)
    logs = (await asyncio.to_thread(container.logs, tail=80)).decode(errors="replace")
    raise AssertionError(f"the model container at {url} never became ready:\n{logs}")


async def call_json(url: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(f"{url}/model/methods/{method}", json=body)
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/json")
    answer: dict[str, Any] = response.json()
    return answer


def compile_proto(proto_text: str) -> dict[str, type[Message]]:
    """protoc model.proto → FileDescriptorSet → dynamic classes by full name."""
    from grpc_tools import protoc

    with tempfile.TemporaryDirectory(prefix="e2e-proto-") as work:
        source = Path(work) / "model.proto"
        source.write_text(proto_text)
        out = Path(work) / "model.desc"
        status = protoc.main(["protoc", f"-I{work}", f"--descriptor_set_out={out}", str(source)])
        assert status == 0, f"protoc could not compile the model's proto:\n{proto_text}"
        file_set = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    pool = descriptor_pool.DescriptorPool()
    return dict(message_factory.GetMessages(list(file_set.file), pool=pool))


async def call_protobuf(url: str, method: str, body: dict[str, Any]) -> dict[str, Any]:
    """Call `method` over protobuf; `body` and the answer are given as dicts for comparison."""
    async with httpx.AsyncClient(timeout=30) as http:
        proto_text = (await http.get(f"{url}/model/proto")).text
        metadata = (await http.get(f"{url}/model/metadata")).json()
        classes = compile_proto(proto_text)
        entry = _method_entry(metadata, method)
        request = ParseDict(body, classes[entry["input_message"]]())
        response = await http.post(
            f"{url}/model/methods/{method}",
            content=request.SerializeToString(),
            headers={"Content-Type": PROTOBUF, "Accept": PROTOBUF},
        )
    assert response.status_code == 200, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith(PROTOBUF)
    answer = classes[entry["output_message"]].FromString(response.content)
    return MessageToDict(answer, preserving_proto_field_name=True)


def _method_entry(metadata: dict[str, Any], method: str) -> dict[str, Any]:
    methods = metadata["methods"]
    entry = methods[method] if isinstance(methods, dict) else _by_name(methods, method)
    assert isinstance(entry, dict), metadata
    return entry


def _by_name(methods: list[dict[str, Any]], method: str) -> dict[str, Any]:
    return next(entry for entry in methods if entry.get("name") == method)
