"""OIP v2 over gRPC: `inference.GRPCInferenceService`, the same models and rules as `/v2` REST.

Tensors arrive either in each input's typed `contents` or, as tritonclient sends them, in
`raw_input_contents` (the binary tensor extension's byte layout); both are read by the REST
path's tensor functions, so datatypes, shapes and the field named in an error are the same.
Outputs are answered in the form the request used: raw when its inputs were raw, else typed
`contents`. Model names: `{bundle}` is the first tensor method, `{bundle}.{method}` any other.
"""

from __future__ import annotations

import struct
import time
from contextlib import nullcontext
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from google.protobuf.message import Message

from modelbay_runtime.server.metrics import UNKNOWN_METHOD
from modelbay_runtime.server.oip_tensors import (
    TensorField,
    TensorSignature,
    bad_tensor,
    column_from_binary,
    column_from_json,
    column_to_binary,
    flatten_output,
)
from modelbay_runtime.server.problem import ProblemError, internal_error
from modelbay_runtime.server.routes_oip import resolve_tensor_model
from modelbay_runtime.server.state import MethodRuntime, ServingState

if TYPE_CHECKING:
    from modelbay_runtime.server.app import ModelServer

SERVICE = "inference.GRPCInferenceService"
DESCRIPTOR_SET = Path(__file__).resolve().parent / "oip_v2.descriptor.pb"

# Which member of InferTensorContents carries each datatype (the specification's table).
CONTENTS_FIELD = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
# Request/response message of each RPC, by the proto's names.
RPCS = {
    "ServerLive": ("ServerLiveRequest", "ServerLiveResponse"),
    "ServerReady": ("ServerReadyRequest", "ServerReadyResponse"),
    "ModelReady": ("ModelReadyRequest", "ModelReadyResponse"),
    "ServerMetadata": ("ServerMetadataRequest", "ServerMetadataResponse"),
    "ModelMetadata": ("ModelMetadataRequest", "ModelMetadataResponse"),
    "ModelInfer": ("ModelInferRequest", "ModelInferResponse"),
}


@cache
def oip_messages() -> dict[str, type[Message]]:
    """Message classes of oip_v2.proto, in a pool of their own (a client library in the same
    process, such as tritonclient, registers the same names in the default pool)."""
    pool = descriptor_pool.DescriptorPool()
    for file_proto in descriptor_pb2.FileDescriptorSet.FromString(DESCRIPTOR_SET.read_bytes()).file:
        pool.Add(file_proto)
    names = {name for pair in RPCS.values() for name in pair}
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"inference.{name}"))
        for name in names
    }


class OipService:
    """The RPC bodies; each takes the decoded request message and returns the response."""

    def __init__(self, server: ModelServer) -> None:
        self.server = server
        self.messages = oip_messages()

    def _reply(self, message: str, **fields: Any) -> Message:
        return self.messages[message](**fields)

    async def ServerLive(self, request: Any) -> Message:  # noqa: N802 - the RPC's own name
        return self._reply("ServerLiveResponse", live=True)

    async def ServerReady(self, request: Any) -> Message:  # noqa: N802
        try:
            self.server.ready_state()
        except ProblemError:
            return self._reply("ServerReadyResponse", ready=False)
        return self._reply("ServerReadyResponse", ready=True)

    async def ModelReady(self, request: Any) -> Message:  # noqa: N802
        try:
            state = self.server.ready_state()
        except ProblemError:  # loading (or failed): not ready, as Triton answers
            return self._reply("ModelReadyResponse", ready=False)
        resolve_tensor_model(state, request.name, request.version or None)
        return self._reply("ModelReadyResponse", ready=True)

    async def ServerMetadata(self, request: Any) -> Message:  # noqa: N802
        return self._reply(
            "ServerMetadataResponse",
            name="modelbay-runtime",
            version=self.server.runtime_version,
            extensions=["binary_tensor_data"],
        )

    async def ModelMetadata(self, request: Any) -> Message:  # noqa: N802
        state = self.server.ready_state()
        name, runtime = resolve_tensor_model(state, request.name, request.version or None)
        signature = _signature(runtime)
        return self._reply(
            "ModelMetadataResponse",
            name=name,
            versions=[state.version],
            platform="modelbay",
            inputs=[f.metadata() for f in signature.inputs],
            outputs=[f.metadata() for f in signature.outputs],
        )

    async def ModelInfer(self, request: Any) -> Message:  # noqa: N802
        # Counted here rather than by the RPC wrapper: the method is known only once resolved.
        started, label, status = time.perf_counter(), UNKNOWN_METHOD, 500
        try:
            state = self.server.ready_state()
            name, runtime = resolve_tensor_model(
                state, request.model_name, request.model_version or None
            )
            label = runtime.method.name
            response = await self._infer(request, state, name, runtime)
            status = 200
            return response
        except ProblemError as problem:
            status = problem.status
            raise
        finally:
            self.server.metrics.request_done(
                label, status, "v2-grpc", time.perf_counter() - started
            )

    async def _infer(
        self, request: Any, state: ServingState, name: str, runtime: MethodRuntime
    ) -> Message:
        signature = _signature(runtime)
        batcher = runtime.batcher
        with batcher.arriving() if batcher is not None else nullcontext():
            payload = read_inputs(request, signature)
            if runtime.layout is not None:
                runtime.layout.check_rows(payload)
            outputs = requested_outputs(request, signature)
        rows = batcher.accepts(payload) if batcher is not None else None
        if batcher is not None and rows is not None:
            result = await batcher.submit(payload, rows)
        else:
            result = await self.server.runner.call(runtime.method, payload)
        response = self.messages["ModelInferResponse"](
            model_name=name, model_version=state.version, id=request.id
        )
        write_outputs(response, outputs, result, raw=bool(request.raw_input_contents))
        return response


def _signature(runtime: MethodRuntime) -> TensorSignature:
    assert runtime.tensors is not None  # resolve_tensor_model only returns tensor methods
    return runtime.tensors


def read_inputs(request: Any, signature: TensorSignature) -> dict[str, Any]:
    fields = {f.name: f for f in signature.inputs}
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise bad_tensor(
            f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs"
        )
    payload: dict[str, Any] = {}
    for index, tensor in enumerate(request.inputs):
        field = fields.get(tensor.name)
        if field is None:
            raise bad_tensor(f"unknown input '{tensor.name}'; inputs are {sorted(fields)}")
        if tensor.name in payload:
            raise bad_tensor(f"input '{tensor.name}' is given twice", tensor.name)
        header = {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.shape)}
        if raw:
            payload[tensor.name] = column_from_binary(field, header, raw[index])
        else:
            payload[tensor.name] = _from_contents(field, header, tensor.contents)
    missing = [name for name in fields if name not in payload]
    if missing:
        raise bad_tensor(f"missing input '{missing[0]}'", missing[0])
    return payload


def _from_contents(field: TensorField, header: dict[str, Any], contents: Any) -> list[Any]:
    member = CONTENTS_FIELD.get(header["datatype"])
    if member is None:
        raise bad_tensor(
            f"input '{field.name}': unsupported datatype {header['datatype']!r}", field.name
        )
    values = list(getattr(contents, member))
    for other in set(CONTENTS_FIELD.values()) - {member}:
        if getattr(contents, other):
            raise bad_tensor(
                f"input '{field.name}': datatype {header['datatype']} carries its data in "
                f"contents.{member}, not contents.{other}",
                field.name,
            )
    if member == "bytes_contents":
        # The binary extension's layout for BYTES, so text and bytes fields decode as on REST.
        packed = b"".join(struct.pack("<I", len(v)) + v for v in values)
        return column_from_binary(field, header, packed)
    return column_from_json(field, {**header, "data": values})


def requested_outputs(request: Any, signature: TensorSignature) -> tuple[TensorField, ...]:
    if not request.outputs:
        return signature.outputs
    fields = {f.name: f for f in signature.outputs}
    chosen: list[TensorField] = []
    for item in request.outputs:
        if item.name not in fields:
            raise bad_tensor(f"unknown output {item.name!r}; outputs are {sorted(fields)}")
        chosen.append(fields[item.name])
    return tuple(chosen)


def write_outputs(
    response: Any, outputs: tuple[TensorField, ...], result: dict[str, Any], *, raw: bool
) -> None:
    for field in outputs:
        values = result.get(field.name)
        if not isinstance(values, list | tuple):
            raise internal_error()
        flat, shape = flatten_output(field, list(values))
        tensor = response.outputs.add(name=field.name, datatype=field.datatype, shape=shape)
        if raw:
            response.raw_output_contents.append(column_to_binary(field, flat))
        elif field.datatype == "BYTES":
            tensor.contents.bytes_contents.extend(_as_bytes(field, v) for v in flat)
        else:
            getattr(tensor.contents, CONTENTS_FIELD[field.datatype]).extend(flat)


def _as_bytes(field: TensorField, value: Any) -> bytes:
    # column_to_binary's per-value rule (base64 text for bytes fields), without the lengths.
    packed = column_to_binary(field, [value])
    return packed[4:]
