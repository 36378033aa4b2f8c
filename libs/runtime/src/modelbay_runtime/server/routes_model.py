"""`/model/...` endpoints: predictions with JSON/protobuf negotiation, metadata, proto, OpenAPI."""

from __future__ import annotations

import base64
import json
import logging
import time
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from modelbay_runtime.server.asgi import Request, Response
from modelbay_runtime.server.metrics import UNKNOWN_METHOD
from modelbay_runtime.server.model import ServableMethod
from modelbay_runtime.server.negotiation import Encoding, request_encoding, response_encoding
from modelbay_runtime.server.openapi import SWAGGER_UI_HTML
from modelbay_runtime.server.problem import (
    ProblemError,
    internal_error,
    invalid_input,
    malformed_body,
)
from modelbay_runtime.server.state import MethodRuntime, ServingState

if TYPE_CHECKING:
    from modelbay_runtime.server.app import ModelServer

log = logging.getLogger("modelbay_runtime.server")


class ModelRoutes:
    def __init__(self, server: ModelServer) -> None:
        self.server = server

    async def predict(self, request: Request) -> Response:
        started = time.perf_counter()
        label, encoding, status = UNKNOWN_METHOD, "json", 500
        try:
            state = self.server.ready_state()
            runtime = resolve_method(state, request.path_params["method"])
            label = runtime.method.name
            incoming = request_encoding(request.header(b"content-type"))
            encoding = incoming[0].value
            outgoing = response_encoding(request.header(b"accept"), incoming)
            response = await self._predict(request, state, runtime, incoming[0], outgoing)
            status = response.status
            return response
        except ProblemError as problem:
            status = problem.status
            raise
        finally:
            self.server.metrics.request_done(label, status, encoding, time.perf_counter() - started)

    async def _predict(
        self,
        request: Request,
        state: ServingState,
        runtime: MethodRuntime,
        incoming: Encoding,
        outgoing: tuple[Encoding, str],
    ) -> Response:
        method, batcher = runtime.method, runtime.batcher
        # Announce the request to the batcher while it is read, so a forming batch can wait
        # for it instead of leaving without it.
        with batcher.arriving() if batcher is not None else nullcontext():
            body = await request.body(self.server.settings.max_body_bytes)
            payload = decode_payload(state, runtime, incoming, body)
            check_payload(runtime, payload, incoming)
        rows = batcher.accepts(payload) if batcher is not None else None
        if batcher is not None and rows is not None:
            result = await batcher.submit(payload, rows)
        else:
            result = await self.server.runner.call(method, payload)
        return Response(200, *encode_result(state, method, outgoing, result))

    async def metadata(self, request: Request) -> Response:
        return Response(200, self.server.ready_state().metadata_json())

    async def proto(self, request: Request) -> Response:
        text = self.server.ready_state().model.proto_text
        return Response(200, text.encode(), "text/plain; charset=utf-8")

    async def openapi(self, request: Request) -> Response:
        return Response(200, self.server.ready_state().openapi_json())

    async def docs(self, request: Request) -> Response:
        title = self.server.ready_state().model.name
        html = SWAGGER_UI_HTML.format(title=_html_escape(title))
        return Response(200, html.encode(), "text/html; charset=utf-8")


def resolve_method(state: ServingState, name: str) -> MethodRuntime:
    runtime = state.methods.get(name)
    if runtime is None:
        raise ProblemError(
            404,
            "unknown-method",
            "Unknown method",
            f"The model has no method {name!r}; methods are {sorted(state.methods)}.",
        )
    return runtime


def decode_payload(
    state: ServingState, runtime: MethodRuntime, incoming: Encoding, body: bytes
) -> dict[str, Any]:
    """A request body as the method's input fields (the ASGI route and the hot path)."""
    method = runtime.method
    if incoming is Encoding.PROTOBUF:
        return state.catalog.decode(method.input_message, body, method.input_spec)
    return decode_json_object(body)


def check_payload(runtime: MethodRuntime, payload: dict[str, Any], incoming: Encoding) -> None:
    """The checks before the model sees a payload: required fields (JSON; protobuf has every
    field), then the rows of a row-wise method, in that order for the same first 422."""
    if incoming is not Encoding.PROTOBUF:
        require_fields(payload, runtime.required_fields)
    if runtime.layout is not None:
        runtime.layout.check_rows(payload)


def encode_result(
    state: ServingState,
    method: ServableMethod,
    outgoing: tuple[Encoding, str],
    result: dict[str, Any],
) -> tuple[bytes, str]:
    """A model's answer in the negotiated encoding: (body, media type)."""
    if outgoing[0] is Encoding.PROTOBUF:
        return encode_protobuf(state, method, result), outgoing[1]
    return encode_json(result), "application/json"


def require_fields(payload: dict[str, Any], required: tuple[str, ...]) -> None:
    for name in required:
        if name not in payload:
            raise invalid_input(name, "this required field is missing")


def decode_json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise malformed_body(f"The body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise invalid_input(None, "the body must be a JSON object with the input fields")
    return payload


def encode_json(result: dict[str, Any]) -> bytes:
    try:
        return _ENCODER.encode(result).encode()
    except (TypeError, ValueError):
        log.exception("the model's output is not JSON-serializable")
        raise internal_error() from None


def _json_fallback(value: Any) -> Any:
    """Tolerate numpy values and bytes a model may hand back despite the contract."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def encode_protobuf(state: ServingState, method: ServableMethod, result: dict[str, Any]) -> bytes:
    try:
        return state.catalog.encode(method.output_message, result, method.output_spec)
    except Exception:
        log.exception("the output of %s does not fit its protobuf message", method.name)
        raise internal_error() from None


# What `json.dumps(result, default=_json_fallback)` builds on every call, built once (≈ 1 µs a
# response: `dumps` makes a new encoder whenever an argument is not the default).
_ENCODER = json.JSONEncoder(default=_json_fallback)


def _html_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
