"""Which incoming edge feeds which input field of each node of a solution.

The rule (module `modelbay_runtime.solution`): one incoming edge without `map` is a direct
connection, the producer's bytes as they are; otherwise each input field comes from exactly one
incoming edge, the one whose `map` names it, else the one whose producer has a field of that name.
Onboarding type-checks this plan at definition time; the orchestrator executes the same plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from modelbay_runtime.solution import INPUT, SolutionDocument

__all__ = ["INPUT", "EdgeFeed", "FieldFeed", "FieldsOf", "NodeFeed", "plan_feeds"]


@dataclass(frozen=True)
class FieldFeed:
    consumer_field: str
    producer_path: str  # dotted, through singular message fields


@dataclass(frozen=True)
class EdgeFeed:
    """The fields one incoming edge contributes to a node's input."""

    source: str
    fields: tuple[FieldFeed, ...]


@dataclass(frozen=True)
class NodeFeed:
    """How a node's input message is made: `direct` (the one producer's bytes as they are) or
    assembled field by field from `edges` (a mapping step, possibly merging several producers)."""

    node: str
    direct: str | None = None
    edges: tuple[EdgeFeed, ...] = ()
    problems: tuple[tuple[str, str], ...] = field(default=())


FieldsOf = Callable[[str], list[str]]
"""Top-level field names of the message a producer sends (a node id or INPUT)."""


def plan_feeds(
    document: SolutionDocument, input_fields: FieldsOf, output_fields: FieldsOf
) -> dict[str, NodeFeed]:
    """For every node, which incoming edge feeds which input field (rules in the module docstring).

    `input_fields(node)` lists a node's input fields; `output_fields(source)` a producer's output
    fields (`INPUT`: the solution's input message). Problems (a field fed twice or by nothing)
    are reported per node as `(where, what)`; type compatibility is checked elsewhere
    (`modelbay_common.interface.solution`)."""
    return {
        node_id: _plan_node(document, node_id, input_fields, output_fields)
        for node_id in document.order()
    }


def _plan_node(
    document: SolutionDocument, node_id: str, input_fields: FieldsOf, output_fields: FieldsOf
) -> NodeFeed:
    incoming = document.incoming(node_id)
    if len(incoming) == 1 and incoming[0].mapping is None:
        return NodeFeed(node_id, direct=incoming[0].source)
    problems: list[tuple[str, str]] = []
    chosen: dict[str, tuple[str, str]] = {}  # consumer field → (source, path)
    for edge in incoming:
        for consumer, path in (edge.mapping or {}).items():
            if consumer in chosen:
                problems.append(
                    (
                        f"edges {chosen[consumer][0]}→{node_id} and {edge.source}→{node_id}",
                        f"both map onto {node_id}.{consumer}; a field takes exactly one producer",
                    )
                )
            else:
                chosen[consumer] = (edge.source, path)
    for consumer in input_fields(node_id):
        if consumer in chosen:
            continue
        named = [edge.source for edge in incoming if consumer in output_fields(edge.source)]
        if len(named) == 1:
            chosen[consumer] = (named[0], consumer)
        elif len(named) > 1:
            problems.append(
                (
                    f"nodes.{node_id}",
                    f"input field {consumer} could come from {' or '.join(named)}; "
                    "map it explicitly on one edge",
                )
            )
        else:
            problems.append(
                (
                    f"nodes.{node_id}",
                    f"no incoming edge feeds input field {consumer}; map a producer field onto it",
                )
            )
    edges = tuple(
        EdgeFeed(
            edge.source, tuple(FieldFeed(c, p) for c, (s, p) in chosen.items() if s == edge.source)
        )
        for edge in incoming
    )
    return NodeFeed(node_id, edges=edges, problems=tuple(problems))
