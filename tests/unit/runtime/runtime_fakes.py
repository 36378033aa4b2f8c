"""A small fake `LoadedModel` for the runtime server's unit tests (no tests in this module).

It follows docs/sdk-runtime-contract.md with the real type system and codec (`spec_of`,
`make_json_caller`, so bad input raises the codec's own InputError) and a descriptor set built
by hand with descriptor_pb2, standing in for a bundle made by `modelbay.dump`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import httpx
from google.protobuf import descriptor_pb2
from modelbay_runtime.codec import make_json_caller
from modelbay_runtime.loader_specs import input_spec_of, output_spec_of
from modelbay_runtime.server import ModelServer, RuntimeSettings
from modelbay_runtime.types import List, MessageSpec

FIELD = descriptor_pb2.FieldDescriptorProto
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")


class IrisInput(NamedTuple):
    sepal_length: List[float]
    sepal_width: List[float]
    petal_length: List[float]
    petal_width: List[float]


class IrisOutput(NamedTuple):
    IrisType: List[int]


def iris_rule(petal_length: float, petal_width: float) -> int:
    """A deterministic row-wise 'classifier': each row's label depends only on that row."""
    if petal_length < 2.5:
        return 0
    return 1 if petal_width < 1.75 else 2


@dataclass
class CallLog:
    """What the fake model saw: rows per call; `gate` lets a test hold the model busy."""

    rows_per_call: list[int] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    entered: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, rows: int) -> None:
        with self.lock:
            self.rows_per_call.append(rows)
        self.entered.set()
        self.gate.wait(timeout=30)


@dataclass
class FakeMethod:
    name: str
    description: str
    input_message: str
    output_message: str
    input_spec: MessageSpec
    output_spec: MessageSpec
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    batchable: bool
    call: Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class FakeModel:
    name: str
    manifest: dict[str, Any]
    proto_text: str
    descriptor_set: bytes
    methods: dict[str, FakeMethod]
    calls: CallLog


def _message(name: str, fields: list[tuple[str, int, bool]]) -> descriptor_pb2.DescriptorProto:
    message = descriptor_pb2.DescriptorProto(name=name)
    for number, (field_name, field_type, repeated) in enumerate(fields, start=1):
        label = FIELD.LABEL_REPEATED if repeated else FIELD.LABEL_OPTIONAL
        message.field.add(name=field_name, number=number, type=field_type, label=label)  # type: ignore[arg-type]
    return message


def _descriptor_set() -> bytes:
    proto = descriptor_pb2.FileDescriptorProto(name="iris.proto", package="iris", syntax="proto3")
    double, int64, string, boolean = (
        FIELD.TYPE_DOUBLE,
        FIELD.TYPE_INT64,
        FIELD.TYPE_STRING,
        FIELD.TYPE_BOOL,
    )
    proto.message_type.extend(
        [
            _message("IrisInput", [(name, double, True) for name in FEATURES]),
            _message("IrisOutput", [("IrisType", int64, True)]),
            _message(
                "DescribeIn",
                [("text", string, False), ("count", int64, False), ("loud", boolean, False)],
            ),
            _message("DescribeOut", [("value", string, False)]),
            _message("ExplodeIn", [("x", double, True)]),
            _message("ExplodeOut", [("value", double, True)]),
            _message("MisalignedIn", [("x", double, True)]),
            _message("MisalignedOut", [("value", int64, True)]),
        ]
    )
    return descriptor_pb2.FileDescriptorSet(file=[proto]).SerializeToString()


PROTO_TEXT = """syntax = "proto3";
package iris;
message IrisInput { repeated double sepal_length = 1; repeated double sepal_width = 2;
  repeated double petal_length = 3; repeated double petal_width = 4; }
message IrisOutput { repeated int64 IrisType = 1; }
"""


def _column_schema(names: tuple[str, ...], item: str) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {n: {"type": "array", "items": {"type": item}} for n in names},
        "required": list(names),
        "additionalProperties": False,
    }


def _method(
    name: str,
    fn: Callable[..., Any],
    messages: tuple[str, str],
    schemas: tuple[dict[str, Any], dict[str, Any]],
    *,
    batchable: bool,
    wrapped: tuple[bool, bool],
) -> FakeMethod:
    """A method built the way the loader builds one: specs from the annotations, codec caller."""
    input_spec = input_spec_of(fn, wrapped=wrapped[0], message_name=messages[0])
    output_spec = output_spec_of(fn, wrapped=wrapped[1], message_name=messages[1])
    caller = make_json_caller(
        fn, input_spec, output_spec, wrapped_input=wrapped[0], wrapped_output=wrapped[1]
    )
    return FakeMethod(
        name,
        f"{name} method",
        f"iris.{messages[0]}",
        f"iris.{messages[1]}",
        input_spec,
        output_spec,
        schemas[0],
        schemas[1],
        batchable,
        caller,
    )


DESCRIBE_SCHEMA = {
    "$defs": {"Text": {"type": "string", "description": "what to describe"}},
    "type": "object",
    "properties": {
        "text": {"$ref": "#/$defs/Text"},
        "count": {"type": "integer"},
        "loud": {"type": "boolean"},
    },
    "required": ["text", "count", "loud"],
}
SAMPLE = {"sepal_length": [5.1], "sepal_width": [3.5], "petal_length": [1.4], "petal_width": [0.2]}


def build_fake_model() -> FakeModel:
    calls = CallLog()
    calls.gate.set()

    def classify(features: IrisInput) -> IrisOutput:
        calls.record(len(features.sepal_length))
        if any(v < 0 for v in features.sepal_length):
            raise ValueError("negative sepal length: internal detail 0xSECRET")
        pairs = zip(features.petal_length, features.petal_width, strict=True)
        return IrisOutput([iris_rule(pl, pw) for pl, pw in pairs])

    def describe(text: str, count: int, loud: bool) -> str:
        out = f"{text} x{count}"
        return out.upper() if loud else out

    def explode(x: List[float]) -> List[float]:
        raise RuntimeError("boom: internal detail 0xSECRET")

    def misaligned(x: List[float]) -> List[int]:
        calls.record(len(x))
        return [len(x)]  # one row whatever comes in: violates the row-wise contract when merged

    floats, ints = _column_schema(("x",), "number"), _column_schema(("value",), "integer")
    methods = [
        _method(
            "classify",
            classify,
            ("IrisInput", "IrisOutput"),
            (_column_schema(FEATURES, "number"), _column_schema(("IrisType",), "integer")),
            batchable=True,
            wrapped=(False, False),
        ),
        _method(
            "describe",
            describe,
            ("DescribeIn", "DescribeOut"),
            (DESCRIBE_SCHEMA, {"type": "object", "properties": {"value": {"type": "string"}}}),
            batchable=False,
            wrapped=(True, True),
        ),
        _method(
            "explode",
            explode,
            ("ExplodeIn", "ExplodeOut"),
            (floats, _column_schema(("value",), "number")),
            batchable=False,
            wrapped=(True, True),
        ),
        _method(
            "misaligned",
            misaligned,
            ("MisalignedIn", "MisalignedOut"),
            (floats, ints),
            batchable=True,
            wrapped=(True, True),
        ),
    ]
    manifest = {
        "spec": 1,
        "name": "iris",
        "version": "3",
        "description": "Fake iris classifier for runtime tests",
        "python": "3.11",
        "requirements": [{"name": "scikit-learn", "version": "1.5.2", "source": "import"}],
        "samples": [{"method": "classify", "input": SAMPLE, "output": {"IrisType": [0]}}],
    }
    by_name = {m.name: m for m in methods}
    return FakeModel("iris", manifest, PROTO_TEXT, _descriptor_set(), by_name, calls)


def iris_payload(rows: list[tuple[float, float, float, float]]) -> dict[str, list[float]]:
    return {name: [row[i] for row in rows] for i, name in enumerate(FEATURES)}


def expected_labels(rows: list[tuple[float, float, float, float]]) -> list[int]:
    return [iris_rule(row[2], row[3]) for row in rows]


@asynccontextmanager
async def serve_fake(
    model: FakeModel | None = None, **settings: Any
) -> AsyncIterator[tuple[ModelServer, httpx.AsyncClient, FakeModel]]:
    """The server on a fake model, in-process over ASGI (no network)."""
    fake = model or build_fake_model()
    server = ModelServer(RuntimeSettings(**settings), lambda: fake)  # type: ignore[arg-type,return-value]
    await server.startup()
    await server.wait_loaded()
    try:
        if os.environ.get(TRANSPORT_ENV) == "hot":
            async with (
                serve_over_hot_path(server) as base_url,
                httpx.AsyncClient(base_url=base_url) as client,
            ):
                yield server, client, fake
        else:
            transport = httpx.ASGITransport(app=server)
            async with httpx.AsyncClient(transport=transport, base_url="http://model") as client:
                yield server, client, fake
    finally:
        fake.calls.gate.set()
        await server.shutdown()


# `RUNTIME_TEST_TRANSPORT=hot pytest tests/unit/runtime` runs the serve_fake tests through a
# real loopback socket and the hot path (server/hot_path.py) instead of in-process ASGI.
TRANSPORT_ENV = "RUNTIME_TEST_TRANSPORT"


@asynccontextmanager
async def serve_over_hot_path(server: ModelServer) -> AsyncIterator[str]:
    """`server` behind uvicorn with the hot-path protocol on a free loopback port, in this
    event loop (the caller runs the server's startup/shutdown); yields the base URL."""
    import asyncio
    import socket

    import uvicorn
    from modelbay_runtime.server.hot_path import HotPathProtocol

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        server,
        http=HotPathProtocol,
        loop="none",
        lifespan="off",
        access_log=False,
        log_level="warning",
        proxy_headers=False,
    )
    runner = uvicorn.Server(config)
    task = asyncio.create_task(runner.serve(sockets=[sock]))
    try:
        while not runner.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        runner.should_exit = True
        await task
