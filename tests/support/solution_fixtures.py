"""A miniature of the paper's Fig. 5 for solution tests: two detectors read the same input, a
rule step combines their findings. Real SDK bundles (`modelbay.dump`), real model servers run
in-process, a solution bundle written by the runtime's own writer, and an httpx transport that
routes each node's host name to its in-process server (with hooks to fail, delay or record).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from modelbay import Model, dump
from modelbay_runtime.loader import load_bundle
from modelbay_runtime.server import ModelServer, RuntimeSettings
from modelbay_runtime.solution import ResolvedNode, SolutionDocument
from modelbay_runtime.solution_bundle import (
    NodeInterface,
    build_solution_files,
    write_solution_bundle,
)
from modelbay_runtime.solution_parse import parse_document


class Reading(NamedTuple):
    temperature: float
    vibration: float


class Finding(NamedTuple):
    score: float
    label: str


class Evidence(NamedTuple):
    heat: float
    shake: float


class Verdict(NamedTuple):
    alert: bool
    score: float


class LooseEvidence(NamedTuple):
    heat: int  # a rule that wants whole numbers: incompatible with the detectors' double
    shake: float


def detect_heat(reading: Reading) -> Finding:
    score = min(1.0, max(0.0, (reading.temperature - 60.0) / 40.0))
    return Finding(score, "hot" if score > 0.5 else "normal")


def detect_shake(reading: Reading) -> Finding:
    score = min(1.0, max(0.0, reading.vibration / 10.0))
    return Finding(score, "shaking" if score > 0.5 else "still")


def decide(evidence: Evidence) -> Verdict:
    score = 0.6 * evidence.heat + 0.4 * evidence.shake
    return Verdict(score > 0.5, score)


def decide_loose(evidence: LooseEvidence) -> Verdict:
    return Verdict(evidence.heat > 0, float(evidence.heat))


def explode(reading: Reading) -> Finding:
    raise RuntimeError("this detector always fails")


SAMPLE = Reading(temperature=85.0, vibration=3.0)
MODELS: dict[str, Callable[[], Model]] = {
    "heat": lambda: Model(detect=detect_heat, samples={"detect": [SAMPLE]}),
    "shake": lambda: Model(detect=detect_shake, samples={"detect": [SAMPLE]}),
    "rule": lambda: Model(decide=decide, samples={"decide": [Evidence(0.9, 0.1)]}),
    "loose_rule": lambda: Model(decide=decide_loose),
    "broken": lambda: Model(detect=explode),
}


def fig5_document(*, rule: str = "rule", heat: str = "heat") -> dict[str, Any]:
    """The Fig. 5 miniature as a document; node `heat` may run another model (`broken`)."""
    return {
        "spec": "1",
        "kind": "solution",
        "method": "assess",
        "description": "Two detectors in parallel, a rule combining them",
        "nodes": {
            "heat": {"model": f"alice/{heat.replace('_', '-')}:1", "method": "detect"},
            "shake": {"model": "alice/shake:1", "method": "detect", "retries": 2},
            "rule": {"model": f"alice/{rule.replace('_', '-')}:1", "method": "decide"},
        },
        "edges": [
            {"from": "$input", "to": "heat"},
            {"from": "$input", "to": "shake"},
            {"from": "heat", "to": "rule", "map": {"heat": "score"}},
            {"from": "shake", "to": "rule", "map": {"shake": "score"}},
        ],
        "output": "rule",
    }


def dump_models(directory: Path, names: list[str] | None = None) -> dict[str, Path]:
    """Bundles of the named models (default: all), one directory each."""
    return {
        name: dump(MODELS[name](), name.replace("_", "-"), directory / name)
        for name in names or list(MODELS)
    }


def node_interface(bundle_dir: Path) -> NodeInterface:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    return NodeInterface(
        descriptor_set=(bundle_dir / "model.descriptor.pb").read_bytes(),
        schemas=json.loads((bundle_dir / "schemas.json").read_text()),
        manifest_methods=manifest["methods"],
    )


def resolve(document: SolutionDocument, bundles: Mapping[str, Path]) -> SolutionDocument:
    """Resolve every node against its bundle (what onboarding does with stored versions)."""
    resolved = {}
    for node_id, node in document.nodes.items():
        manifest = json.loads((bundles[node_id] / "manifest.json").read_text())
        method = manifest["methods"][node.method]
        resolved[node_id] = ResolvedNode(
            f"registry.test/{node.model.owner}/{node.model.name}:{node.model.version}",
            None,
            method["input_message"],
            method["output_message"],
        )
    return document.with_resolved(resolved)


def write_solution(
    directory: Path, name: str, raw_document: dict[str, Any], bundles: Mapping[str, Path]
) -> Path:
    """The solution bundle of `raw_document`, `bundles` keyed by node id."""
    document = resolve(parse_document(raw_document), bundles)
    nodes = {node_id: node_interface(path) for node_id, path in bundles.items()}
    files = build_solution_files(name, document, nodes, python_version="3.11")
    return write_solution_bundle(files, directory / name)


Hook = Callable[[httpx.Request], Awaitable[httpx.Response | None]]


@dataclass
class NodeNetwork(httpx.AsyncBaseTransport):
    """Routes `http://<node>/...` to in-process servers; `hooks[node]` may answer instead
    (return a response) or raise (a connection failure); `seen` records every request."""

    servers: dict[str, httpx.ASGITransport]
    hooks: dict[str, Hook] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        host = request.url.host
        hook = self.hooks.get(host)
        if hook is not None:
            answer = await hook(request)
            if answer is not None:
                return answer
        server = self.servers.get(host)
        if server is None:
            raise httpx.ConnectError(f"no route to host {host}", request=request)
        return await server.handle_async_request(request)


@asynccontextmanager
async def model_servers(bundles: Mapping[str, Path]) -> AsyncIterator[NodeNetwork]:
    """One real model server per node (host name = node id), loaded and ready."""
    servers: dict[str, ModelServer] = {}
    try:
        for host, bundle_dir in bundles.items():
            loaded = load_bundle(str(bundle_dir))
            server = ModelServer(
                RuntimeSettings(bundle_dir=str(bundle_dir), batching=False),
                lambda loaded=loaded: loaded,
            )
            await server.startup()
            await server.wait_loaded()
            servers[host] = server
        yield NodeNetwork({host: httpx.ASGITransport(app=s) for host, s in servers.items()})
    finally:
        await asyncio.gather(*(server.shutdown() for server in servers.values()))


async def call_by_hand(network: NodeNetwork, reading: Reading) -> dict[str, Any]:
    """What the solution must answer, computed by calling the three pieces one by one."""
    async with httpx.AsyncClient(transport=network) as client:
        payload = reading._asdict()
        heat = (await client.post("http://heat/model/methods/detect", json=payload)).json()
        shake = (await client.post("http://shake/model/methods/detect", json=payload)).json()
        evidence = {"heat": heat["score"], "shake": shake["score"]}
        verdict = await client.post("http://rule/model/methods/decide", json=evidence)
    result: dict[str, Any] = verdict.json()
    return result
