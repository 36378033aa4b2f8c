"""Type-checking a whole solution at definition time: every connection, from descriptor sets.

Here rather than in `modelbay_common.interface` because it reads the solution document of
`modelbay_runtime`, which libs/common must not import (docs/decisions.md).

`plan_feeds` (`modelbay_runtime.solution_feeds`) decides which incoming edge feeds which input
field of each node; this module checks every such connection with the rule of `compatibility`:

- a direct connection (one edge, no `map`) by the direct rule;
- each edge of an assembled input (a `map`, or several producers merging into one node) as a
  mapped connection restricted to the fields that edge feeds, so a merge is checked field by
  field against the one producer each field comes from;
- the request (`$input`) is a producer too: the solution's input message is the input message of
  its first entry node, and every other node fed by the request is checked against it.

The orchestrator executes exactly the plan checked here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelbay_common.interface import (
    ConnectionCheck,
    InterfaceDescription,
    MessageDescription,
    check_connection,
    describe_descriptor_set,
)
from modelbay_runtime.solution import INPUT, SolutionDocument
from modelbay_runtime.solution_feeds import NodeFeed, plan_feeds

INPUT_LABEL = "input"


@dataclass(frozen=True)
class SolutionProblem:
    where: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "message": self.message}


@dataclass(frozen=True)
class SolutionCheck:
    """The verdict on a solution; `explain()` is what a person reads, `to_dict()` what an API
    returns (problem+json extension `connections`)."""

    connections: tuple[ConnectionCheck, ...]
    problems: tuple[SolutionProblem, ...]
    input_message: str | None = None  # full name, in the first entry node's interface
    output_message: str | None = None  # full name, in the output node's interface
    feeds: dict[str, NodeFeed] = field(default_factory=dict)

    @property
    def compatible(self) -> bool:
        return not self.problems and all(c.compatible for c in self.connections)

    def explain(self) -> str:
        lines = [f"{p.where}: {p.message}" for p in self.problems]
        lines += [c.explain() for c in self.connections if not c.compatible]
        return "\n".join(lines) if lines else "every connection is compatible"

    def to_dict(self) -> dict[str, Any]:
        return {
            "compatible": self.compatible,
            "problems": [p.to_dict() for p in self.problems],
            "connections": [c.to_dict() for c in self.connections],
        }


def check_solution(
    document: SolutionDocument, interfaces: Mapping[str, InterfaceDescription | bytes]
) -> SolutionCheck:
    """Check every connection of `document`; `interfaces` maps each node id to its model
    version's descriptor set (or its description)."""
    described_by_node = {
        node_id: raw if isinstance(raw, InterfaceDescription) else describe_descriptor_set(raw)
        for node_id, raw in interfaces.items()
    }
    problems: list[SolutionProblem] = []
    ends: dict[str, tuple[InterfaceDescription, MessageDescription, MessageDescription]] = {}
    for node_id, node in document.nodes.items():
        interface = described_by_node.get(node_id)
        if interface is None:
            problems.append(SolutionProblem(f"nodes.{node_id}", "no interface is known for it"))
            continue
        method = interface.methods.get(node.method)
        if method is None:
            known = ", ".join(sorted(interface.methods)) or "none"
            problems.append(
                SolutionProblem(
                    f"nodes.{node_id}.method",
                    f"{node.model} has no method {node.method!r} (methods: {known})",
                )
            )
            continue
        ends[node_id] = (
            interface,
            interface.message(method.input_message),
            interface.message(method.output_message),
        )
    if problems:
        return SolutionCheck((), tuple(problems))
    entry = document.entry_nodes()[0]
    entry_interface, solution_input, _ = ends[entry]

    def producer(source: str) -> tuple[InterfaceDescription, MessageDescription, str]:
        if source == INPUT:
            return entry_interface, solution_input, INPUT_LABEL
        interface, _, output = ends[source]
        return interface, output, source

    feeds = plan_feeds(
        document,
        input_fields=lambda node_id: [f.name for f in ends[node_id][1].fields],
        output_fields=lambda source: [f.name for f in producer(source)[1].fields],
    )
    connections: list[ConnectionCheck] = []
    for node_id, feed in feeds.items():
        problems += [SolutionProblem(where, what) for where, what in feed.problems]
        consumer_interface, consumer_message, _ = ends[node_id]
        if feed.direct is not None:
            p_interface, p_message, p_label = producer(feed.direct)
            connections.append(
                check_connection(
                    p_interface,
                    p_message.full_name,
                    consumer_interface,
                    consumer_message.full_name,
                    producer_node=p_label,
                    consumer_node=node_id,
                )
            )
            continue
        for edge in feed.edges:
            if not edge.fields:
                problems.append(
                    SolutionProblem(
                        f"edge {edge.source}→{node_id}",
                        f"feeds no input field of {node_id}; remove it or map a field",
                    )
                )
                continue
            mapping = {f.consumer_field: f.producer_path for f in edge.fields}
            p_interface, p_message, p_label = producer(edge.source)
            restricted = _restricted(consumer_interface, consumer_message, set(mapping))
            connections.append(
                check_connection(
                    p_interface,
                    p_message.full_name,
                    restricted,
                    consumer_message.full_name,
                    mapping=mapping,
                    producer_node=p_label,
                    consumer_node=node_id,
                )
            )
    return SolutionCheck(
        tuple(connections),
        tuple(problems),
        input_message=solution_input.full_name,
        output_message=ends[document.output][2].full_name,
        feeds=feeds,
    )


def _restricted(
    interface: InterfaceDescription, message: MessageDescription, names: set[str]
) -> InterfaceDescription:
    """`interface` in which `message` has only the fields named in `names`: the part of a
    merged input that one edge feeds (labels stay the consumer's own)."""
    kept = tuple(f for f in message.fields if f.name in names)
    messages = dict(interface.messages)
    messages[message.full_name] = message.model_copy(update={"fields": kept})
    return interface.model_copy(update={"messages": messages})
