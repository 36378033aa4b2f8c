"""The solution document (docs/solutions.md): a typed pipeline of model versions, in one place.

The SDK writes it (`modelbay.Solution`), `/v1` accepts it as JSON or YAML, onboarding checks it
and stores its resolved form in the solution's bundle, and the orchestrator
(`modelbay_runtime.orchestrator`) runs it. All of them parse it here, so they cannot disagree.
Runtime core: standard library only (YAML is read at the edges, into the same dict).

    spec: "1"
    kind: solution
    method: classify                 # the solution's own method (default: predict)
    nodes:
      detect_a: {model: alice/detector-a:1, method: detect}
      detect_b: {model: alice/detector-b:1, method: detect, timeout_seconds: 2, retries: 1}
      combine:  {model: alice/combine:1, method: combine}
    edges:
      - {from: $input, to: detect_a}        # the request itself
      - {from: $input, to: detect_b}
      - {from: detect_a, to: combine, map: {score_a: score}}   # consumer field: producer path
      - {from: detect_b, to: combine, map: {score_b: score}}
    output: combine                  # the solution answers with this node's output

What a node's input is made of (`modelbay_runtime.solution_feeds`): one incoming edge without
`map` passes the producer's bytes on unchanged (a direct connection); otherwise each input field
is taken from exactly one incoming edge: the edge whose `map` names it, else the one incoming
edge whose producer has a field of that name (a single mapped edge: `map.get(field, field)`, as
in `modelbay_common.interface`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SOLUTION_SPEC = "1"
SOLUTION_KIND = "solution"
SOLUTION_FILE = "solution.json"
INPUT = "$input"
DEFAULT_METHOD = "predict"
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_RETRIES = 1
MAX_RETRIES = 5

_MODEL_REF = re.compile(
    r"^(?P<owner>[a-z0-9]+(?:[._-][a-z0-9]+)*)/(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*)"
    r":(?P<version>[1-9][0-9]{0,8})$"
)


class SolutionDocumentError(ValueError):
    """The document is not a valid solution; `problems` has one `(where, what)` per mistake."""

    def __init__(self, problems: Iterable[tuple[str, str]]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(f"{where}: {what}" for where, what in self.problems))


@dataclass(frozen=True)
class ModelVersionRef:
    """`owner/name:version` of a model version a node runs."""

    owner: str
    name: str
    version: int

    @classmethod
    def parse(cls, text: str) -> ModelVersionRef:
        match = _MODEL_REF.match(text)
        if match is None:
            raise ValueError(
                f"{text!r} is not OWNER/NAME:VERSION (a model version, e.g. alice/iris:3)"
            )
        return cls(match["owner"], match["name"], int(match["version"]))

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}:{self.version}"


@dataclass(frozen=True)
class ResolvedNode:
    """What the platform adds to a node when it accepts the solution: the image to run and the
    node's messages (so the orchestrator needs no interface lookup of its own)."""

    image_ref: str
    image_digest: str | None
    input_message: str
    output_message: str
    # Where the node already answers when it is served without an image (the builder's
    # local-process mode: `modelbay_common.refs.served_url` of its ref); None for an image.
    served_url: str | None = None


@dataclass(frozen=True)
class SolutionNode:
    id: str
    model: ModelVersionRef
    method: str
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    retries: int = DEFAULT_RETRIES
    resolved: ResolvedNode | None = None

    def label(self) -> str:
        """How problems name a node: `combine (alice/combine:1)`."""
        return f"{self.id} ({self.model})"


@dataclass(frozen=True)
class SolutionEdge:
    source: str  # a node id or INPUT
    target: str
    mapping: Mapping[str, str] | None = None  # consumer field → producer path


@dataclass(frozen=True)
class SolutionDocument:
    nodes: Mapping[str, SolutionNode]  # in document order
    edges: tuple[SolutionEdge, ...]
    output: str
    method: str = DEFAULT_METHOD
    description: str | None = None

    def incoming(self, node_id: str) -> list[SolutionEdge]:
        return [edge for edge in self.edges if edge.target == node_id]

    def entry_nodes(self) -> list[str]:
        """Nodes fed by the request itself, in document order."""
        fed = {edge.target for edge in self.edges if edge.source == INPUT}
        return [node_id for node_id in self.nodes if node_id in fed]

    def order(self) -> list[str]:
        """Node ids in a topological order (document order among equals)."""
        return _topological_order(self)

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON form (what `solution_parse.parse_document` reads back to an equal
        document)."""
        document: dict[str, Any] = {"spec": SOLUTION_SPEC, "kind": SOLUTION_KIND}
        if self.description:
            document["description"] = self.description
        document["method"] = self.method
        document["nodes"] = {node.id: _node_dict(node) for node in self.nodes.values()}
        document["edges"] = [_edge_dict(edge) for edge in self.edges]
        document["output"] = self.output
        return document

    def with_resolved(self, resolved: Mapping[str, ResolvedNode]) -> SolutionDocument:
        nodes = {
            node_id: _replace_resolved(node, resolved.get(node_id))
            for node_id, node in self.nodes.items()
        }
        return SolutionDocument(nodes, self.edges, self.output, self.method, self.description)


def _replace_resolved(node: SolutionNode, resolved: ResolvedNode | None) -> SolutionNode:
    return SolutionNode(
        node.id, node.model, node.method, node.timeout_seconds, node.retries, resolved
    )


def _node_dict(node: SolutionNode) -> dict[str, Any]:
    out: dict[str, Any] = {"model": str(node.model), "method": node.method}
    if node.timeout_seconds != DEFAULT_TIMEOUT_SECONDS:
        out["timeout_seconds"] = node.timeout_seconds
    if node.retries != DEFAULT_RETRIES:
        out["retries"] = node.retries
    if node.resolved is not None:
        out["resolved"] = {
            "image_ref": node.resolved.image_ref,
            "image_digest": node.resolved.image_digest,
            "input_message": node.resolved.input_message,
            "output_message": node.resolved.output_message,
        }
        if node.resolved.served_url:
            out["resolved"]["served_url"] = node.resolved.served_url
    return out


def _edge_dict(edge: SolutionEdge) -> dict[str, Any]:
    out: dict[str, Any] = {"from": edge.source, "to": edge.target}
    if edge.mapping is not None:
        out["map"] = dict(edge.mapping)
    return out


def _topological_order(document: SolutionDocument) -> list[str]:
    remaining = {
        node_id: {e.source for e in document.incoming(node_id)} - {INPUT}
        for node_id in document.nodes
    }
    order: list[str] = []
    while remaining:
        ready = [node_id for node_id, needs in remaining.items() if not needs]
        if not ready:
            raise ValueError(f"the edges form a cycle through {', '.join(sorted(remaining))}")
        for node_id in ready:
            order.append(node_id)
            del remaining[node_id]
        for needs in remaining.values():
            needs.difference_update(ready)
    return order


def _ancestors(document: SolutionDocument, node_id: str) -> set[str]:
    found: set[str] = set()
    pending = [node_id]
    while pending:
        for edge in document.incoming(pending.pop()):
            if edge.source != INPUT and edge.source not in found:
                found.add(edge.source)
                pending.append(edge.source)
    return found
