"""ONNX uploads through the upload route (composition root): a good ONNX bundle passes every
check; a bad `model.onnx` is refused with 422 problem+json naming the file and the reason, before
the database and with nothing stored. (The accepted upload's storage needs Postgres and is
exercised by the e2e test.)"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import onnx
import onnx_graphs
import pytest
from modelbay import Model, dump
from modelbay_common.bus import InProcessBus
from modelbay_common.internal_auth import InternalAuth
from modelbay_onboarding.main import Service, build_service
from modelbay_onboarding.settings import OnboardingSettings
from modelbay_onboarding.validation.archive import ArchiveLimits
from modelbay_onboarding.validation.bundle import BundleRules, validate_bundle
from modelbay_onboarding.validation.onnx_check import OnnxRules
from onboarding_bundles import archive, edit_manifest, refresh_checksums

USER = {"X-Modelbay-User": "alice", "X-Modelbay-Org": "", "X-Modelbay-Admin": "false"}
PROBLEM = "application/problem+json"


def onnx_bundle(tmp_path: Path, graph: onnx.ModelProto | None = None) -> Path:
    source = onnx_graphs.save(graph or onnx_graphs.linear_scorer(), tmp_path / "scorer.onnx")
    return dump(Model.from_onnx(source), "scorer", tmp_path / "bundle")


def swap_graph(bundle: Path, replacement: bytes) -> Path:
    """Put other bytes in model.onnx and re-sign, so only the graph itself is wrong."""
    (bundle / "model.onnx").write_bytes(replacement)
    refresh_checksums(bundle)
    return bundle


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = OnboardingSettings(
        # Never connected to: every request in this file is refused before the database.
        database_url="postgresql+asyncpg://nobody:nothing@127.0.0.1:1/none",
        bus_url="memory://",
        blob_url=(tmp_path / "blobs").as_uri(),
        spool_dir=tmp_path,
        resolver_enabled=False,
        max_onnx_bytes=4096,
    )
    service: Service = build_service(settings, bus=InProcessBus())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=service.app),
        base_url="http://onboarding",
        auth=InternalAuth(),
    ) as client:
        yield client
    await service.engine.dispose()


async def refused(client: httpx.AsyncClient, bundle: Path, tmp_path: Path) -> dict[str, Any]:
    body = archive(bundle, tmp_path / "upload.tar.gz").read_bytes()
    response = await client.post(
        "/internal/uploads/alice/scorer",
        content=body,
        headers={**USER, "Content-Type": "application/gzip"},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert not [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    problem: dict[str, Any] = response.json()
    assert problem["type"].endswith("/invalid-bundle")
    return problem


def messages(problem: dict[str, Any]) -> dict[str, str]:
    return {e["field"]: e["message"] for e in problem["errors"]}


def test_a_good_onnx_bundle_passes_every_check(tmp_path: Path) -> None:
    bundle = onnx_bundle(tmp_path)
    limits = ArchiveLimits(
        max_files=100,
        max_unpacked_bytes=1 << 30,
        max_expansion_ratio=100.0,
        expansion_ratio_floor_bytes=1 << 20,
        max_metadata_file_bytes=1 << 20,
    )
    rules = BundleRules(limits, ("3.11",), require_samples=True, onnx=OnnxRules())
    validated = validate_bundle(archive(bundle, tmp_path / "good.tar.gz"), rules)
    assert validated.methods == ("predict",)
    assert validated.pickle_globals == ()
    assert {r.split("==")[0] for r in validated.requirements} == {"numpy", "onnxruntime"}
    assert validated.warnings == ()  # the generated sample counts as one


async def test_a_file_that_is_not_onnx_is_refused(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    bundle = swap_graph(onnx_bundle(tmp_path), b"\xff\xfe not a protobuf at all \x00\x01")
    problem = await refused(client, bundle, tmp_path)
    assert "is not an ONNX model" in messages(problem)["model.onnx"]


async def test_a_custom_operator_domain_is_refused(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    bundle = swap_graph(onnx_bundle(tmp_path), onnx_graphs.with_custom_domain().SerializeToString())
    problem = await refused(client, bundle, tmp_path)
    assert "custom domain(s) com.example.secret" in messages(problem)["model.onnx"]


@pytest.mark.parametrize("opset", [5, 40])
async def test_an_opset_outside_the_served_range_is_refused(
    client: httpx.AsyncClient, tmp_path: Path, opset: int
) -> None:
    bundle = swap_graph(onnx_bundle(tmp_path), onnx_graphs.with_opset(opset).SerializeToString())
    problem = await refused(client, bundle, tmp_path)
    assert (
        f"uses ai.onnx opset {opset}; this platform serves opsets 7 to 28"
        in (messages(problem)["model.onnx"])
    )


async def test_external_data_is_refused(client: httpx.AsyncClient, tmp_path: Path) -> None:
    external = onnx_graphs.with_external_data(tmp_path)
    graph = onnx.load_model(str(external), load_external_data=False)
    bundle = swap_graph(onnx_bundle(tmp_path), graph.SerializeToString())
    problem = await refused(client, bundle, tmp_path)
    assert "external data" in messages(problem)["model.onnx"]


async def test_an_oversized_graph_is_refused(client: httpx.AsyncClient, tmp_path: Path) -> None:
    padded = onnx_graphs.linear_scorer()
    padded.doc_string = "x" * 8192  # past this test's max_onnx_bytes=4096
    bundle = swap_graph(onnx_bundle(tmp_path), padded.SerializeToString())
    problem = await refused(client, bundle, tmp_path)
    assert "larger than the 4096 bytes" in messages(problem)["model.onnx"]


EDITS: dict[str, tuple[Callable[[dict[str, Any]], None], str, str]] = {
    "dtype": (
        lambda m: m["methods"]["predict"]["input_type"]["fields"][0]["type"].update(
            dtype="float64"
        ),
        "manifest.methods.predict.input_type.features_in",
        "is declared 'float64', the graph has float32",
    ),
    "shape": (
        lambda m: m["methods"]["predict"]["output_type"]["fields"][0]["type"].update(
            shape=[None, 7]
        ),
        "manifest.methods.predict.output_type.scores",
        "is declared with shape [None, 7], the graph has [None, 3]",
    ),
    "graph name": (
        lambda m: m["onnx"]["inputs"].update(features_in="nope"),
        "manifest.onnx.inputs",
        "names graph inputs ['nope'], the graph has ['features.in']",
    ),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
async def test_a_manifest_that_misdescribes_the_graph_is_refused(
    client: httpx.AsyncClient, tmp_path: Path, edit: str
) -> None:
    change, field, message = EDITS[edit]
    bundle = onnx_bundle(tmp_path)
    edit_manifest(bundle, change)
    problem = await refused(client, bundle, tmp_path)
    assert message in messages(problem)[field]


async def test_an_onnx_bundle_with_a_pickle_is_refused(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    bundle = onnx_bundle(tmp_path)
    shutil.copyfile(bundle / "model.onnx", bundle / "model.pkl")
    refresh_checksums(bundle)
    problem = await refused(client, bundle, tmp_path)
    assert "carries no pickle" in messages(problem)["model.pkl"]
