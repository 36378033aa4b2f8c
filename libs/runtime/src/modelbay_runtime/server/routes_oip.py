"""Open Inference Protocol v2 endpoints.

Model names: `/v2/models/{bundle name}` serves the bundle's first method that maps to tensors;
`/v2/models/{bundle name}.{method}` addresses any tensor method explicitly.
"""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any

from modelbay_runtime.server.asgi import Request, Response
from modelbay_runtime.server.metrics import UNKNOWN_METHOD
from modelbay_runtime.server.oip import HEADER_LENGTH, parse_infer_request, render_infer_response
from modelbay_runtime.server.oip_tensors import TensorSignature
from modelbay_runtime.server.problem import ProblemError
from modelbay_runtime.server.state import MethodRuntime, ServingState

if TYPE_CHECKING:
    from modelbay_runtime.server.app import ModelServer


def _not_found(message: str) -> ProblemError:
    return ProblemError(404, "unknown-model", "Unknown model", message, extra={"error": message})


class OipRoutes:
    def __init__(self, server: ModelServer) -> None:
        self.server = server

    async def server_metadata(self, request: Request) -> Response:
        body = {
            "name": "modelbay-runtime",
            "version": self.server.runtime_version,
            "extensions": ["binary_tensor_data"],
        }
        return Response(200, json.dumps(body).encode())

    async def live(self, request: Request) -> Response:
        return Response(200, b"{}")

    async def ready(self, request: Request) -> Response:
        self.server.ready_state()
        return Response(200, b"{}")

    async def model_ready(self, request: Request) -> Response:
        self._resolve(self.server.ready_state(), request.path_params)
        return Response(200, b"{}")

    async def model_metadata(self, request: Request) -> Response:
        state = self.server.ready_state()
        name, runtime = self._resolve(state, request.path_params)
        signature = _signature(runtime)
        body: dict[str, Any] = {
            "name": name,
            "versions": [state.version],
            "platform": "modelbay",
            "inputs": [f.metadata() for f in signature.inputs],
            "outputs": [f.metadata() for f in signature.outputs],
        }
        return Response(200, json.dumps(body).encode())

    async def infer(self, request: Request) -> Response:
        started = time.perf_counter()
        label, encoding, status = UNKNOWN_METHOD, "v2-json", 500
        try:
            state = self.server.ready_state()
            name, runtime = self._resolve(state, request.path_params)
            label = runtime.method.name
            if HEADER_LENGTH in request.headers:
                encoding = "v2-binary"
            response = await self._infer(request, state, name, runtime)
            status = response.status
            return response
        except ProblemError as problem:
            status = problem.status
            raise
        finally:
            self.server.metrics.request_done(label, status, encoding, time.perf_counter() - started)

    async def _infer(
        self, request: Request, state: ServingState, name: str, runtime: MethodRuntime
    ) -> Response:
        batcher = runtime.batcher
        with batcher.arriving() if batcher is not None else nullcontext():
            body = await request.body(self.server.settings.max_body_bytes)
            infer = parse_infer_request(
                body, request.headers.get(HEADER_LENGTH), _signature(runtime)
            )
            if runtime.layout is not None:
                runtime.layout.check_rows(infer.payload)
        rows = batcher.accepts(infer.payload) if batcher is not None else None
        if batcher is not None and rows is not None:
            result = await batcher.submit(infer.payload, rows)
        else:
            result = await self.server.runner.call(runtime.method, infer.payload)
        return render_infer_response(name, state.version, infer, result)

    def _resolve(self, state: ServingState, params: dict[str, str]) -> tuple[str, MethodRuntime]:
        return resolve_tensor_model(state, params["name"], params.get("version"))


def resolve_tensor_model(
    state: ServingState, name: str, version: str | None
) -> tuple[str, MethodRuntime]:
    """The tensor method an OIP model name addresses (REST and gRPC), or 404 naming the choices."""
    if version is not None and version != state.version:
        raise _not_found(f"model {name!r} has no version {version!r}; it is {state.version!r}")
    model_name = state.model.name
    if name == model_name:
        method = state.default_tensor_method
        if method is None:
            raise _not_found(f"no method of {model_name!r} maps to OIP v2 tensors")
        return name, state.methods[method]
    prefix = model_name + "."
    runtime = state.methods.get(name[len(prefix) :]) if name.startswith(prefix) else None
    if runtime is None:
        tensor_names = [model_name] + [prefix + m for m, rt in state.methods.items() if rt.tensors]
        raise _not_found(f"unknown model {name!r}; models are {tensor_names}")
    if runtime.tensors is None:
        raise _not_found(
            f"method {runtime.method.name!r} does not map to OIP v2 tensors; "
            "use POST /model/methods/{method}"
        )
    return name, runtime


def _signature(runtime: MethodRuntime) -> TensorSignature:
    assert runtime.tensors is not None  # _resolve only returns tensor methods
    return runtime.tensors
