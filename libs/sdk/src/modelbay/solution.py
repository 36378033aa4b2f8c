"""`Solution`: compose pushed model versions into a typed pipeline (docs/solutions.md).

    from modelbay import Solution, Session

    fig5 = Solution(method="assess", description="two detectors and a rule")
    heat = fig5.node("heat", "alice/heat:1", "detect")
    shake = fig5.node("shake", "alice/shake:1", "detect", retries=2)
    rule = fig5.node("rule", "alice/rule:1", "decide")
    fig5.connect(fig5.input, heat)
    fig5.connect(fig5.input, shake)
    fig5.connect(heat, rule, map={"heat": "score"})     # rule's field ← heat's field path
    fig5.connect(shake, rule, map={"shake": "score"})
    fig5.output = rule
    Session().push(fig5, "fig5")

The document it writes is `modelbay_runtime.solution`'s, the one `/v1` accepts as JSON or YAML
and the orchestrator runs; the structure is checked here, the types by the platform when it is
pushed (every node must be a ready version you may see, every connection compatible).
A user step (a rule, a field conversion) is a model like any other: push it, then use it as a node.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelbay_runtime.solution import (
    DEFAULT_METHOD,
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT_SECONDS,
    INPUT,
    SOLUTION_KIND,
    SOLUTION_SPEC,
    SolutionDocument,
    SolutionDocumentError,
)
from modelbay_runtime.solution_parse import parse_document

__all__ = ["Node", "Solution", "SolutionDocumentError"]


@dataclass(frozen=True)
class Node:
    """A node of a solution: what `Solution.node` returns and `connect` takes."""

    id: str


class Solution:
    def __init__(self, *, method: str = DEFAULT_METHOD, description: str | None = None) -> None:
        """`method`: the name the solution's own endpoint has (`/model/methods/<method>`)."""
        self.method = method
        self.description = description
        self.input = Node(INPUT)
        self.output: Node | None = None
        self._nodes: dict[str, dict[str, Any]] = {}
        self._edges: list[dict[str, Any]] = []

    def node(
        self,
        node_id: str,
        model: str,
        method: str,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        retries: int = DEFAULT_RETRIES,
    ) -> Node:
        """Add a node running `method` of the model version `model` (`owner/name:version`);
        `timeout_seconds` and `retries` apply to each call into it."""
        if node_id in self._nodes:
            raise SolutionDocumentError([(f"nodes.{node_id}", "is already a node")])
        entry: dict[str, Any] = {"model": model, "method": method}
        if timeout_seconds != DEFAULT_TIMEOUT_SECONDS:
            entry["timeout_seconds"] = timeout_seconds
        if retries != DEFAULT_RETRIES:
            entry["retries"] = retries
        self._nodes[node_id] = entry
        return Node(node_id)

    def connect(self, source: Node, target: Node, *, map: Mapping[str, str] | None = None) -> None:
        """Feed `target` from `source` (or `solution.input`, the request). `map` maps
        `{target input field: source output field path}`; without it the source's message goes
        to the target as it is, and must match it field for field."""
        edge: dict[str, Any] = {"from": source.id, "to": target.id}
        if map is not None:
            edge["map"] = dict(map)
        self._edges.append(edge)

    def to_document(self) -> dict[str, Any]:
        """The solution document (JSON-ready); raises SolutionDocumentError naming every
        structural mistake."""
        document: dict[str, Any] = {"spec": SOLUTION_SPEC, "kind": SOLUTION_KIND}
        if self.description:
            document["description"] = self.description
        document |= {
            "method": self.method,
            "nodes": {node_id: dict(entry) for node_id, entry in self._nodes.items()},
            "edges": [dict(edge) for edge in self._edges],
            "output": self.output.id if self.output is not None else None,
        }
        return parse_document(document).to_dict()

    def checked(self) -> SolutionDocument:
        return parse_document(self.to_document())

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Solution:
        parsed = parse_document(document)
        solution = cls(method=parsed.method, description=parsed.description)
        for node in parsed.nodes.values():
            solution.node(
                node.id,
                str(node.model),
                node.method,
                timeout_seconds=node.timeout_seconds,
                retries=node.retries,
            )
        for edge in parsed.edges:
            mapping = dict(edge.mapping) if edge.mapping is not None else None
            solution.connect(Node(edge.source), Node(edge.target), map=mapping)
        solution.output = Node(parsed.output)
        return solution

    @classmethod
    def from_file(cls, path: str | Path) -> Solution:
        """A document from a `.json` file, or `.yaml`/`.yml` when PyYAML is installed."""
        source = Path(path)
        text = source.read_text("utf-8")
        if source.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise SolutionDocumentError(
                    [(str(source), "reading YAML needs PyYAML (pip install pyyaml); or use JSON")]
                ) from None
            return cls.from_document(yaml.safe_load(text))
        return cls.from_document(json.loads(text))

    def dumps(self) -> str:
        return json.dumps(self.to_document(), indent=2) + "\n"
