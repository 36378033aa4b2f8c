"""The solution's edge: its request in (JSON or protobuf), its answer out, node failures as
problem+json.

Inside, everything is protobuf. A JSON request is read into the solution's input message (proto3
JSON: field names, enums by name or number, bytes as base64, int64 as number or text) and a JSON
answer is the output message as the model server writes it (natural JSON, ints as numbers).
"""

from __future__ import annotations

import json
import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from modelbay_runtime.orchestrator.calls import NodeFailure
from modelbay_runtime.server.problem import ProblemError, invalid_input, malformed_body
from modelbay_runtime.server.protobuf_codec import MessageCatalog
from modelbay_runtime.server.routes_model import decode_json_object
from modelbay_runtime.solution import INPUT, SolutionDocument

_FIELD_IN_ERROR = re.compile(r'Failed to parse (\w+) field|has no field named "(\w+)"')


def request_message(
    message_class: type[Message], body: bytes, *, protobuf: bool, required: tuple[str, ...]
) -> bytes:
    """The request as the solution's input message, in wire bytes; 400/422 when it is not."""
    if protobuf:
        try:
            message_class.FromString(body)
        except DecodeError as exc:
            name = message_class.DESCRIPTOR.full_name
            raise malformed_body(f"The body is not a valid protobuf {name}: {exc}") from None
        return body
    payload = decode_json_object(body)
    for name in required:
        if name not in payload:
            raise invalid_input(name, "this required field is missing")
    message = message_class()
    try:
        json_format.ParseDict(payload, message)
    except json_format.ParseError as exc:
        match = _FIELD_IN_ERROR.search(str(exc))
        field = next((g for g in match.groups() if g), None) if match else None
        raise invalid_input(field, str(exc)) from None
    return message.SerializeToString()


def answer_json(catalog: MessageCatalog, message_class: type[Message], answer: bytes) -> bytes:
    return json.dumps(catalog.to_dict(message_class.FromString(answer))).encode()


def node_problem(failure: NodeFailure, document: SolutionDocument) -> ProblemError:
    """What the caller reads when a node fails: which node, which model, what it said."""
    node = failure.node
    extra: dict[str, Any] = {
        "node": node.id,
        "model": str(node.model),
        "attempts": failure.attempts,
    }
    if failure.status is not None:
        extra["node_status"] = failure.status
    if failure.problem is not None:
        extra["node_problem"] = failure.problem
    fed_by_request = (
        any(edge.source == INPUT and edge.mapping is None for edge in document.incoming(node.id))
        and len(document.incoming(node.id)) == 1
    )
    if failure.kind == "refused" and fed_by_request and failure.status in (400, 413, 422):
        # The node read the caller's own request and refused it: the caller's mistake, so the
        # node's 4xx (and the field it names) goes back as it is.
        problem = failure.problem or {}
        field = problem.get("field") if isinstance(problem.get("field"), str) else None
        return ProblemError(
            failure.status,
            "invalid-input",
            "Invalid input",
            f"node {node.label()} refused the input: {problem.get('detail') or failure.detail}",
            field=field,
            extra=extra,
        )
    if failure.kind == "unavailable":
        # The node says "not now" (still loading, overloaded): so does the solution.
        return ProblemError(
            503,
            "node-unavailable",
            "A node of the solution is not available yet",
            str(failure),
            headers={"retry-after": "1"},
            extra=extra,
        )
    status, kind, title = {
        "timeout": (504, "node-timeout", "A node of the solution did not answer in time"),
        "unreachable": (502, "node-unreachable", "A node of the solution cannot be reached"),
        "refused": (502, "node-refused", "A node of the solution refused its input"),
    }.get(failure.kind, (502, "node-failed", "A node of the solution failed"))
    return ProblemError(status, kind, title, str(failure), extra=extra)
