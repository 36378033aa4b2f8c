"""Reading a solution document (docs/solutions.md) into a `SolutionDocument`: every structural
mistake collected into one `SolutionDocumentError`. The document's classes live in `solution.py`;
interfaces are checked in `solution_feeds.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from modelbay_runtime.solution import (
    DEFAULT_METHOD,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_SECONDS,
    INPUT,
    MAX_RETRIES,
    SOLUTION_KIND,
    SOLUTION_SPEC,
    ModelVersionRef,
    ResolvedNode,
    SolutionDocument,
    SolutionDocumentError,
    SolutionEdge,
    SolutionNode,
    _ancestors,
)

_NODE_ID = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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
