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

_NODE_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_MODEL_REF = re.compile(
    r"^(?P<owner>[a-z0-9]+(?:[._-][a-z0-9]+)*)/(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*)"
    r":(?P<version>[1-9][0-9]{0,8})$"
)
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
        """The canonical JSON form (what `parse_document` reads back to an equal document)."""
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


# -- parsing -----------------------------------------------------------------------------------


def parse_document(raw: Any) -> SolutionDocument:
    """Read a document (as parsed from JSON or YAML); every structural mistake is collected
    into one `SolutionDocumentError`. Interfaces are not looked at here (`solution_feeds`)."""
    problems: list[tuple[str, str]] = []
    if not isinstance(raw, Mapping):
        raise SolutionDocumentError(
            [("(document)", "must be an object with spec, nodes, edges, output")]
        )
    _check_keys(
        raw,
        {"spec", "kind", "name", "description", "method", "nodes", "edges", "output"},
        "",
        problems,
    )
    spec = raw.get("spec")
    if str(spec) != SOLUTION_SPEC:
        problems.append(
            ("spec", f"is {spec!r}; this platform reads solution spec {SOLUTION_SPEC!r}")
        )
    kind = raw.get("kind", SOLUTION_KIND)
    if kind != SOLUTION_KIND:
        problems.append(("kind", f"is {kind!r}; a solution document has kind {SOLUTION_KIND!r}"))
    method = raw.get("method", DEFAULT_METHOD)
    if not isinstance(method, str) or not _FIELD_NAME.match(method):
        problems.append(("method", "must be an identifier (letters, digits, _)"))
        method = DEFAULT_METHOD
    description = raw.get("description")
    if description is not None and not isinstance(description, str):
        problems.append(("description", "must be text"))
        description = None
    nodes = _parse_nodes(raw.get("nodes"), problems)
    edges = _parse_edges(raw.get("edges"), nodes, problems)
    output = raw.get("output")
    if not isinstance(output, str) or output not in nodes:
        problems.append(("output", f"must name a node (one of {sorted(nodes)}), got {output!r}"))
        output = ""
    if problems:
        raise SolutionDocumentError(problems)
    document = SolutionDocument(nodes, tuple(edges), output, method, description)
    _check_graph(document, problems)
    if problems:
        raise SolutionDocumentError(problems)
    return document


def _check_keys(
    raw: Mapping[str, Any], allowed: set[str], where: str, problems: list[tuple[str, str]]
) -> None:
    for key in raw:
        if key not in allowed:
            problems.append(
                (
                    f"{where}{key}",
                    f"is not a solution field (allowed: {', '.join(sorted(allowed))})",
                )
            )


def _parse_nodes(raw: Any, problems: list[tuple[str, str]]) -> dict[str, SolutionNode]:
    if not isinstance(raw, Mapping) or not raw:
        problems.append(("nodes", "must map node ids to {model, method}, with at least one node"))
        return {}
    nodes: dict[str, SolutionNode] = {}
    for node_id, entry in raw.items():
        where = f"nodes.{node_id}"
        if not isinstance(node_id, str) or not _NODE_ID.match(node_id):
            problems.append(
                (where, "a node id is 1-63 lowercase letters, digits or _, starting with a letter")
            )
            continue
        if not isinstance(entry, Mapping):
            problems.append((where, "must be an object with model and method"))
            continue
        node = _parse_node(node_id, entry, where, problems)
        if node is not None:
            nodes[node_id] = node
    return nodes


def _parse_node(
    node_id: str, entry: Mapping[str, Any], where: str, problems: list[tuple[str, str]]
) -> SolutionNode | None:
    _check_keys(
        entry, {"model", "method", "timeout_seconds", "retries", "resolved"}, f"{where}.", problems
    )
    try:
        model = ModelVersionRef.parse(str(entry.get("model", "")))
    except ValueError as exc:
        problems.append((f"{where}.model", str(exc)))
        return None
    method = entry.get("method")
    if not isinstance(method, str) or not _FIELD_NAME.match(method):
        problems.append((f"{where}.method", "must name one of the model's methods"))
        return None
    timeout = entry.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 600:
        problems.append((f"{where}.timeout_seconds", "must be a number of seconds in (0, 600]"))
        return None
    retries = entry.get("retries", DEFAULT_RETRIES)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        problems.append((f"{where}.retries", f"must be a whole number from 0 to {MAX_RETRIES}"))
        return None
    resolved = _parse_resolved(entry.get("resolved"), where, problems)
    return SolutionNode(node_id, model, method, float(timeout), retries, resolved)


def _parse_resolved(raw: Any, where: str, problems: list[tuple[str, str]]) -> ResolvedNode | None:
    if raw is None:
        return None
    keys = ("image_ref", "input_message", "output_message")
    if not isinstance(raw, Mapping) or not all(isinstance(raw.get(k), str) for k in keys):
        problems.append(
            (f"{where}.resolved", f"must carry {', '.join(keys)} (written by the platform)")
        )
        return None
    digest, served = raw.get("image_digest"), raw.get("served_url")
    return ResolvedNode(
        str(raw["image_ref"]),
        str(digest) if digest else None,
        str(raw["input_message"]),
        str(raw["output_message"]),
        str(served) if served else None,
    )


def _parse_edges(
    raw: Any, nodes: Mapping[str, SolutionNode], problems: list[tuple[str, str]]
) -> list[SolutionEdge]:
    if not isinstance(raw, list) or not raw:
        problems.append(("edges", "must be a list of {from, to, map?}, with at least one edge"))
        return []
    edges: list[SolutionEdge] = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(raw):
        where = f"edges[{index}]"
        if not isinstance(entry, Mapping):
            problems.append((where, "must be an object {from, to, map?}"))
            continue
        _check_keys(entry, {"from", "to", "map"}, f"{where}.", problems)
        source, target = entry.get("from"), entry.get("to")
        if source != INPUT and source not in nodes:
            problems.append((f"{where}.from", f"must be {INPUT} or a node id, got {source!r}"))
            continue
        if target not in nodes:
            problems.append((f"{where}.to", f"must be a node id, got {target!r}"))
            continue
        if (source, target) in seen:
            problems.append((where, f"connects {source} to {target} a second time"))
            continue
        seen.add((str(source), str(target)))
        mapping = _parse_mapping(entry.get("map"), f"{where}.map", problems)
        edges.append(SolutionEdge(str(source), str(target), mapping))
    return edges


def _parse_mapping(raw: Any, where: str, problems: list[tuple[str, str]]) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or not raw:
        problems.append((where, "must map consumer fields to producer field paths"))
        return None
    mapping: dict[str, str] = {}
    for consumer, path in raw.items():
        parts = str(path).split(".") if isinstance(path, str) else []
        if not isinstance(consumer, str) or not _FIELD_NAME.match(consumer):
            problems.append((f"{where}.{consumer}", "is not a field name"))
        elif not parts or not all(_FIELD_NAME.match(part) for part in parts):
            problems.append(
                (f"{where}.{consumer}", f"{path!r} is not a field path like score or detail.score")
            )
        else:
            mapping[consumer] = str(path)
    return mapping


def _check_graph(document: SolutionDocument, problems: list[tuple[str, str]]) -> None:
    if not document.entry_nodes():
        problems.append(("edges", f"no edge starts at {INPUT}: nothing receives the request"))
    for node_id in document.nodes:
        if not document.incoming(node_id):
            problems.append((f"nodes.{node_id}", "has no incoming edge: nothing feeds it"))
    try:
        document.order()
    except ValueError as exc:
        problems.append(("edges", str(exc)))
        return
    useful = _ancestors(document, document.output) | {document.output}
    for node_id in document.nodes:
        if node_id not in useful:
            problems.append(
                (
                    f"nodes.{node_id}",
                    f"does not lead to the output node {document.output}: "
                    "its answer would be thrown away",
                )
            )


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
