"""A solution's OpenAPI document: the model server's generator, fed the solution's method, plus
the answers only a solution gives (a node that fails, cannot be reached or times out)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from modelbay_runtime.orchestrator.runner import CompiledSolution
from modelbay_runtime.server.openapi import build_openapi
from modelbay_runtime.server.problem import PROBLEM_MEDIA_TYPE
from modelbay_runtime.types import TypeSpec

_NODE_ERRORS = {
    "502": "A node failed, refused its input or cannot be reached; `node` names it",
    "503": "The solution is loading, or a node is not available yet (Retry-After); `node`",
    "504": "A node did not answer within its timeout; `node` names it",
}


@dataclass(frozen=True)
class _SolutionMethod:
    """The method as the OpenAPI generator reads it: names and JSON Schemas only."""

    name: str
    description: str
    input_message: str
    output_message: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    batchable: bool = False

    @property
    def input_spec(self) -> TypeSpec:
        raise NotImplementedError("a solution has no Python type tree")

    @property
    def output_spec(self) -> TypeSpec:
        raise NotImplementedError("a solution has no Python type tree")

    def call(self, payload: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError("a solution is run by the orchestrator, not called")


@dataclass(frozen=True)
class _SolutionModel:
    name: str
    manifest: dict[str, Any]
    proto_text: str
    descriptor_set: bytes
    methods: Mapping[str, _SolutionMethod] = field(default_factory=dict)


def solution_openapi(solution: CompiledSolution, version: str = "1") -> dict[str, Any]:
    method_name = solution.document.method
    schemas = solution.bundle.schemas[method_name]
    method = _SolutionMethod(
        name=method_name,
        description=solution.document.description or f"Solution {solution.name}",
        input_message=solution.input_message,
        output_message=solution.output_message,
        input_schema=dict(schemas["input"]),
        output_schema=dict(schemas["output"]),
    )
    model = _SolutionModel(
        name=solution.name,
        manifest=solution.bundle.manifest,
        proto_text=solution.bundle.proto_text,
        descriptor_set=solution.bundle.descriptor_set,
        methods={method_name: method},
    )
    document = build_openapi(model, version)
    responses = document["paths"][f"/model/methods/{method_name}"]["post"]["responses"]
    for status, description in _NODE_ERRORS.items():
        responses[status] = {
            "description": description,
            "content": {
                PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemError"}}
            },
        }
    return document
