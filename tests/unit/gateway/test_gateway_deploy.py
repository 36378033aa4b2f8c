"""The gateway's deployment use case (service_deploy.py) over fake catalog and builder answers
(httpx MockTransport through `Upstreams`' transports; no I/O): which facts make which files, and
every refusal with the reason a person can act on. The route itself runs in tests/e2e."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from catalog_answers import image, version_detail
from modelbay_common.access import Caller
from modelbay_common.deployment import ArchiveFormat, DeployKind
from modelbay_gateway.errors import DeploymentNotAvailable
from modelbay_gateway.service_deploy import deployment_facts, open_deployment_download
from modelbay_gateway.settings import GatewaySettings
from modelbay_gateway.upstream import BUILDER, CATALOG, ONBOARDING, Upstreams

MIB = 1024 * 1024
DIGEST = "sha256:" + "d" * 64
CALLER = Caller(user="alice", org=None, admin=False)


def ready(owner: str, name: str, version: int, **fields: Any) -> dict[str, Any]:
    found = fields.pop("image", image(f"127.0.0.1:5000/{owner}/{name}:{version}", digest=DIGEST))
    detail = version_detail(owner=owner, name=name, version=version, status="ready", image=found)
    return json.loads(detail.model_dump_json()) | fields


def upstreams(
    tmp_path: Path, versions: dict[str, dict[str, Any]], builds: dict[str, dict[str, Any]]
) -> Upstreams:
    def catalog(request: httpx.Request) -> httpx.Response:
        # /internal/models/{owner}/{name}/versions/{v}
        parts = request.url.path.split("/")
        key = f"{parts[3]}/{parts[4]}:{parts[6]}"
        if key not in versions:
            return httpx.Response(404, json={"title": "Version not found", "status": 404})
        return httpx.Response(200, json=versions[key])

    def builder(request: httpx.Request) -> httpx.Response:
        parts = request.url.path.split("/")  # /internal/builds/{owner}/{name}/{v}
        key = f"{parts[3]}/{parts[4]}:{parts[5]}"
        if key not in builds:
            return httpx.Response(404, json={"title": "Build not found", "status": 404})
        return httpx.Response(200, json=builds[key])

    settings = GatewaySettings(
        database_url="postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none",
        bus_url="memory://",
        blob_url=tmp_path.as_uri(),
    )
    transports = {
        CATALOG: httpx.MockTransport(catalog),
        BUILDER: httpx.MockTransport(builder),
        ONBOARDING: httpx.MockTransport(lambda _: httpx.Response(500)),
    }
    return Upstreams(settings, transports)  # type: ignore[arg-type]


async def test_a_model_uses_the_catalog_image_and_the_builder_idle_memory(tmp_path: Path) -> None:
    found = upstreams(
        tmp_path,
        {"alice/iris:3": ready("alice", "iris", 3)},
        {
            "alice/iris:3": {
                "idle_memory_bytes": 100 * MIB,
                "solution_nodes": None,
                "grpc_port": 8081,
            }
        },
    )
    facts = await deployment_facts(found, CALLER, "alice", "iris", 3)
    assert facts.kind == "model"
    assert facts.front.grpc_port == 8081  # the builder's record: the image serves gRPC
    assert facts.front.image == f"127.0.0.1:5000/alice/iris@{DIGEST}"
    assert facts.front.resources.memory_request == "160Mi"
    download = await open_deployment_download(
        found, CALLER, "alice", "iris", 3, DeployKind.COMPOSE, ArchiveFormat.TAR_GZ
    )
    body = b"".join([chunk async for chunk in download.body])
    assert download.headers["Content-Length"] == str(len(body))
    assert 'filename="alice-iris-3-compose.tar.gz"' in download.headers["Content-Disposition"]
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        assert "alice-iris-3-compose/docker-compose.yml" in archive.getnames()
    await found.aclose()


async def test_a_solution_gets_its_nodes_from_the_builder_and_their_images_from_the_catalog(
    tmp_path: Path,
) -> None:
    found = upstreams(
        tmp_path,
        {
            "alice/fig5:1": ready("alice", "fig5", 1),
            "alice/heat:1": ready("alice", "heat", 1),
            "bob/rule:2": ready("bob", "rule", 2),
        },
        {
            "alice/fig5:1": {"solution_nodes": {"heat": "alice/heat:1", "rule": "bob/rule:2"}},
            "alice/heat:1": {"idle_memory_bytes": 300 * MIB, "grpc_port": 8081},
        },
    )
    facts = await deployment_facts(found, CALLER, "alice", "fig5", 1)
    assert facts.kind == "solution"
    assert [node.node_id for node in facts.nodes] == ["heat", "rule"]
    # heat's build says gRPC; rule has no record (older build): HTTP only, as the orchestrator.
    assert [node.grpc_port for node in facts.nodes] == [8081, None]
    assert facts.front.grpc_port is None
    assert facts.nodes[0].resources.memory_limit == "912Mi"  # 3 × 300 MiB, to 16 MiB
    assert facts.nodes[1].resources.measured is False  # the builder has no record of it
    await found.aclose()


@pytest.mark.parametrize(
    ("versions", "builds", "reason"),
    [
        (
            {"alice/iris:3": ready("alice", "iris", 3, status="building")},
            {},
            "its status is 'building'",
        ),
        (
            {"alice/iris:3": ready("alice", "iris", 3, image=image("local-process://127.0.0.1:4000/alice/iris/3"))},
            {},
            "served as a local process",
        ),
        (
            {"alice/iris:3": ready("alice", "iris", 3, image=image("127.0.0.1:5000/alice/iris:3"))},
            {},
            "no sha256 digest",
        ),
        (
            {"alice/iris:3": ready("alice", "iris", 3)},
            {"alice/iris:3": {"solution_nodes": {"heat": "carol/heat:1"}}},
            "node heat (carol/heat:1) does not exist or is not visible to you",
        ),
        (
            {
                "alice/iris:3": ready("alice", "iris", 3),
                "alice/heat:1": ready("alice", "heat", 1, status="failed"),
            },
            {"alice/iris:3": {"solution_nodes": {"heat": "alice/heat:1"}}},
            "node heat (alice/heat:1) is 'failed'",
        ),
    ],
    ids=["not-ready", "local-process", "no-digest", "invisible-node", "failed-node"],
)  # fmt: skip
async def test_refusals_say_why(
    tmp_path: Path,
    versions: dict[str, dict[str, Any]],
    builds: dict[str, dict[str, Any]],
    reason: str,
) -> None:
    found = upstreams(tmp_path, versions, builds)
    with pytest.raises(DeploymentNotAvailable) as refused:
        await deployment_facts(found, CALLER, "alice", "iris", 3)
    assert refused.value.status == 409
    assert reason in str(refused.value.detail), refused.value.detail
    await found.aclose()
