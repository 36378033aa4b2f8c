"""Open Inference Protocol v2 request parsing and response rendering (JSON + binary tensors)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from modelbay_runtime.server.asgi import Response
from modelbay_runtime.server.oip_tensors import (
    TensorField,
    TensorSignature,
    bad_tensor,
    column_from_binary,
    column_from_json,
    column_to_binary,
    column_to_json,
    flatten_output,
)
from modelbay_runtime.server.problem import internal_error

log = logging.getLogger("modelbay_runtime.server")
HEADER_LENGTH = "inference-header-content-length"


@dataclass(frozen=True)
class InferRequest:
    id: str | None
    payload: dict[str, Any]
    outputs: tuple[tuple[TensorField, bool], ...]  # requested outputs, each with "binary?"
    binary_input: bool


def parse_infer_request(
    body: bytes, header_length: str | None, signature: TensorSignature
) -> InferRequest:
    header, tensors = _split_body(body, header_length)
    try:
        document = json.loads(header)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_tensor(f"the inference request is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("inputs"), list):
        raise bad_tensor("the inference request needs an 'inputs' list")
    payload = _read_inputs(document["inputs"], tensors, signature)
    request_id = document.get("id")
    return InferRequest(
        id=str(request_id) if request_id is not None else None,
        payload=payload,
        outputs=_requested_outputs(document, signature),
        binary_input=header_length is not None,
    )


def _split_body(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    if not header_length.isdigit() or int(header_length) > len(body):
        raise bad_tensor(f"Inference-Header-Content-Length {header_length!r} does not fit the body")
    cut = int(header_length)
    return body[:cut], body[cut:]


def _read_inputs(inputs: list[Any], tensors: bytes, signature: TensorSignature) -> dict[str, Any]:
    fields = {f.name: f for f in signature.inputs}
    payload: dict[str, Any] = {}
    offset = 0
    for tensor in inputs:
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            raise bad_tensor("every input needs a 'name'")
        name = tensor["name"]
        field = fields.get(name)
        if field is None:
            raise bad_tensor(f"unknown input '{name}'; inputs are {sorted(fields)}", name)
        if name in payload:
            raise bad_tensor(f"input '{name}' is given twice", name)
        size = (tensor.get("parameters") or {}).get("binary_data_size")
        if size is None:
            payload[name] = column_from_json(field, tensor)
            continue
        if type(size) is not int or size < 0 or offset + size > len(tensors):
            raise bad_tensor(f"input '{name}': binary_data_size {size!r} does not fit the body")
        payload[name] = column_from_binary(field, tensor, tensors[offset : offset + size])
        offset += size
    missing = [name for name in fields if name not in payload]
    if missing:
        raise bad_tensor(f"missing input '{missing[0]}'", missing[0])
    return payload


def _requested_outputs(
    document: dict[str, Any], signature: TensorSignature
) -> tuple[tuple[TensorField, bool], ...]:
    parameters = document.get("parameters") or {}
    binary_default = bool(parameters.get("binary_data_output", False))
    requested = document.get("outputs")
    if not requested:
        return tuple((field, binary_default) for field in signature.outputs)
    fields = {f.name: f for f in signature.outputs}
    chosen: list[tuple[TensorField, bool]] = []
    for item in requested:
        name = item.get("name") if isinstance(item, dict) else None
        if name not in fields:
            raise bad_tensor(f"unknown output {name!r}; outputs are {sorted(fields)}")
        binary = (item.get("parameters") or {}).get("binary_data", binary_default)
        chosen.append((fields[name], bool(binary)))
    return tuple(chosen)


def render_infer_response(
    model_name: str, model_version: str, request: InferRequest, result: dict[str, Any]
) -> Response:
    document: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request.id is not None:
        document["id"] = request.id
    outputs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for field, binary in request.outputs:
        values = result.get(field.name)
        if not isinstance(values, list | tuple):
            log.error("output %r of %s is not a column: %r", field.name, model_name, values)
            raise internal_error()
        if binary:
            flat, shape = flatten_output(field, list(values))
            blob = column_to_binary(field, flat)
            outputs.append(
                {
                    "name": field.name,
                    "datatype": field.datatype,
                    "shape": shape,
                    "parameters": {"binary_data_size": len(blob)},
                }
            )
            blobs.append(blob)
        else:
            outputs.append(column_to_json(field, list(values)))
    document["outputs"] = outputs
    header = json.dumps(document).encode()
    if not blobs:
        return Response(200, header)
    return Response(
        200,
        header + b"".join(blobs),
        media_type="application/octet-stream",
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
