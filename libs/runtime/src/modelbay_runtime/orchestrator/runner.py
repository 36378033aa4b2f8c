"""One solution, compiled for running: its graph, its message classes, its mapping steps.

A request runs every node as its own task, in topological order of creation: a node's task
awaits its producers' tasks, so parallel branches run concurrently (the fan-out of the paper's
Fig. 5 costs the slowest branch, not the sum), and a merge waits for all its producers
(`asyncio.gather`). Bytes flow between nodes unchanged on direct connections; a mapping step
decodes its producers' outputs (each once per request) and encodes the consumer's input. The
first failing node ends the request: the tasks still running are cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from modelbay_runtime.orchestrator.assemble import EdgeCopier, assemble, compile_edges
from modelbay_runtime.orchestrator.calls import NodeCaller
from modelbay_runtime.orchestrator.tracing import TraceContext
from modelbay_runtime.server.protobuf_codec import MessageCatalog
from modelbay_runtime.solution import INPUT, SolutionDocument
from modelbay_runtime.solution_bundle import SolutionBundle
from modelbay_runtime.solution_feeds import NodeFeed, plan_feeds


class SolutionLoadError(ValueError):
    """The solution bundle is inconsistent (it passed the definition-time check, so this means
    a corrupted or hand-edited bundle)."""


@dataclass(frozen=True)
class _Step:
    node: str
    feed: NodeFeed
    input_class: type[Message]
    copiers: tuple[EdgeCopier, ...]


class CompiledSolution:
    """Everything derived once from a solution bundle; shared by all its requests."""

    def __init__(self, bundle: SolutionBundle, node_urls: Mapping[str, str]) -> None:
        self.bundle = bundle
        self.name = bundle.name
        self.document: SolutionDocument = bundle.document
        self.catalog = MessageCatalog(bundle.descriptor_set)
        method = bundle.manifest["methods"][self.document.method]
        self.input_message: str = method["input_message"]
        self.output_message: str = method["output_message"]
        self.input_class = self.catalog.message_class(self.input_message)
        self.output_class = self.catalog.message_class(self.output_message)
        missing = [n for n in self.document.nodes if n not in node_urls]
        if missing:
            raise SolutionLoadError(f"no URL for node(s) {', '.join(missing)}")
        self.urls = {
            node_id: f"{node_urls[node_id].rstrip('/')}/model/methods/{node.method}"
            for node_id, node in self.document.nodes.items()
        }
        self._node_catalogs = {
            node_id: MessageCatalog(raw) for node_id, raw in bundle.node_descriptor_sets.items()
        }
        self.steps = self._compile()

    def message_class_of(self, source: str, which: str) -> type[Message]:
        if source == INPUT:
            return self.input_class
        resolved = self.document.nodes[source].resolved
        assert resolved is not None  # SolutionBundle.read refuses unresolved nodes
        name = resolved.input_message if which == "input" else resolved.output_message
        return self._node_catalogs[source].message_class(name)

    def _compile(self) -> list[_Step]:
        def fields(source: str, which: str) -> list[str]:
            return [f.name for f in self.message_class_of(source, which).DESCRIPTOR.fields]

        feeds = plan_feeds(
            self.document,
            input_fields=lambda node: fields(node, "input"),
            output_fields=lambda source: fields(source, "output"),
        )
        steps = []
        for node_id, feed in feeds.items():
            if feed.problems:
                raise SolutionLoadError(
                    "; ".join(f"{where}: {what}" for where, what in feed.problems)
                )
            input_class = self.message_class_of(node_id, "input")
            producers = {
                edge.source: self.message_class_of(edge.source, "output").DESCRIPTOR
                for edge in feed.edges
            }
            copiers = compile_edges(feed.edges, producers, input_class.DESCRIPTOR)
            steps.append(_Step(node_id, feed, input_class, copiers))
        return steps

    async def run(self, request: bytes, caller: NodeCaller, trace: TraceContext) -> bytes:
        """The output node's answer (protobuf bytes) to `request` (the solution's input)."""
        run = _Run(self, request, caller, trace)
        return await run.execute()


class _Run:
    """One request through the graph: the node tasks and the decoded outputs they share."""

    def __init__(
        self, solution: CompiledSolution, request: bytes, caller: NodeCaller, trace: TraceContext
    ) -> None:
        self._solution = solution
        self._caller = caller
        self._trace = trace
        done: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        done.set_result(request)
        self._outputs: dict[str, asyncio.Future[bytes]] = {INPUT: done}
        self._decoded: dict[str, Message] = {}

    async def execute(self) -> bytes:
        tasks: list[asyncio.Task[bytes]] = []
        for step in self._solution.steps:
            task = asyncio.create_task(self._step(step), name=f"node-{step.node}")
            self._outputs[step.node] = task
            tasks.append(task)
        try:
            return await self._outputs[self._solution.document.output]
        finally:
            for task in tasks:
                task.cancel()
            # Collect every outcome so no failed sibling logs "exception never retrieved".
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _step(self, step: _Step) -> bytes:
        node = self._solution.document.nodes[step.node]
        if step.feed.direct is not None:
            body = await self._outputs[step.feed.direct]
        else:
            sources = [edge.source for edge in step.feed.edges]
            await asyncio.gather(*(self._outputs[source] for source in sources))
            decoded = {source: self._decode(source) for source in sources}
            body = assemble(step.input_class(), step.copiers, decoded).SerializeToString()
        return await self._caller.call(node, self._solution.urls[step.node], body, self._trace)

    def _decode(self, source: str) -> Message:
        message = self._decoded.get(source)
        if message is None:
            message_class = self._solution.message_class_of(source, "output")
            message = message_class.FromString(self._outputs[source].result())
            self._decoded[source] = message
        return message


def describe(solution: CompiledSolution) -> dict[str, Any]:
    """`/model/metadata` of a solution: its method, nodes and connections."""
    method = solution.bundle.manifest["methods"][solution.document.method]
    return {
        "name": solution.name,
        "kind": "solution",
        "description": solution.document.description,
        "methods": {
            solution.document.method: {
                "description": method.get("description"),
                "input_message": solution.input_message,
                "output_message": solution.output_message,
                "input_schema": solution.bundle.schemas[solution.document.method]["input"],
                "output_schema": solution.bundle.schemas[solution.document.method]["output"],
            }
        },
        "solution": solution.document.to_dict(),
        "node_urls": dict(solution.urls),
    }
