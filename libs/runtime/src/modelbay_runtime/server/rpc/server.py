"""The gRPC port: a `grpc.aio` server on the model server's own event loop.

Sharing the loop is what lets gRPC calls join the same batches as REST calls (the batcher is an
asyncio object). Handlers are generic (no generated `_pb2_grpc` code): OIP v2 messages come from
the committed descriptor set, the model's from its bundle. A `ProblemError` becomes the gRPC
status of its HTTP status, with the problem's detail (which names the field) as the message and
the field in the `modelbay-field` trailing metadata.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from grpc import aio

from modelbay_runtime.server.problem import ProblemError
from modelbay_runtime.server.rpc.model_service import ModelService, model_service_name
from modelbay_runtime.server.rpc.oip_service import RPCS, SERVICE, OipService

if TYPE_CHECKING:
    from modelbay_runtime.server.app import ModelServer
    from modelbay_runtime.server.state import ServingState

log = logging.getLogger("modelbay_runtime.server")
Behaviour = Callable[[Any, aio.ServicerContext[Any, Any]], Awaitable[Any]]

_STATUS_OF_HTTP = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    503: grpc.StatusCode.UNAVAILABLE,
}


def grpc_status(problem: ProblemError) -> grpc.StatusCode:
    return _STATUS_OF_HTTP.get(problem.status, grpc.StatusCode.INTERNAL)


def _guarded(
    server: ModelServer, label: str, encoding: str, call: Callable[[Any], Awaitable[Any]]
) -> Behaviour:
    async def behaviour(request: Any, context: aio.ServicerContext[Any, Any]) -> Any:
        started, status = time.perf_counter(), 500
        try:
            answer = await call(request)
            status = 200
            return answer
        except ProblemError as problem:
            status = problem.status
            if problem.field is not None:
                context.set_trailing_metadata((("modelbay-field", problem.field),))
            await context.abort(grpc_status(problem), problem.detail or problem.title)
        except aio.AbortError:
            raise
        except Exception:
            log.exception("gRPC call %s failed", label)
            await context.abort(grpc.StatusCode.INTERNAL, "the server failed; see its log")
        finally:
            if label != "-":
                server.metrics.request_done(label, status, encoding, time.perf_counter() - started)

    return behaviour


def oip_handler(server: ModelServer) -> grpc.GenericRpcHandler:
    service = OipService(server)
    messages = service.messages
    handlers = {}
    for rpc, (request_name, response_name) in RPCS.items():
        # "-": not counted by the wrapper (ModelInfer counts itself under its method's name;
        # health and metadata calls are not predictions).
        handlers[rpc] = grpc.unary_unary_rpc_method_handler(
            _guarded(server, "-", "v2-grpc", getattr(service, rpc)),
            request_deserializer=messages[request_name].FromString,
            response_serializer=messages[response_name].SerializeToString,
        )
    return grpc.method_handlers_generic_handler(SERVICE, handlers)


class ModelHandler(grpc.GenericRpcHandler):
    """Routes `/<package>.Model/<method>` once the model has loaded (UNIMPLEMENTED before)."""

    def __init__(self, server: ModelServer) -> None:
        self._server = server
        self._service = ModelService(server)
        self._handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] | None = None

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        if self._handlers is None:
            try:
                state = self._server.ready_state()
            except ProblemError:
                return None
            self._handlers = self._build(state)
        return self._handlers.get(handler_call_details.method)

    def _build(self, state: ServingState) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
        prefix = f"/{model_service_name(state)}/"
        handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
        for name in state.methods:

            def call(body: bytes, method: str = name) -> Awaitable[bytes]:
                return self._service.call(method, body)

            # Bytes in and out: the bundle's catalog parses and writes the messages.
            handlers[prefix + name] = grpc.unary_unary_rpc_method_handler(
                _guarded(self._server, name, "grpc", call)
            )
        return handlers


class GrpcPort:
    """The gRPC server of one model server process, started and stopped with it."""

    def __init__(self, server: ModelServer, host: str, port: int, *, reuse_port: bool) -> None:
        # SO_REUSEPORT only with several workers (they share the port, the kernel spreads
        # connections); otherwise a second server on a taken port must fail, not share it.
        options = [
            ("grpc.so_reuseport", 1 if reuse_port else 0),
            ("grpc.max_receive_message_length", server.settings.max_body_bytes),
        ]
        self._server = aio.server(options=options)
        self._server.add_generic_rpc_handlers((oip_handler(server), ModelHandler(server)))
        self._address = f"{'[::]' if host in ('0.0.0.0', '::') else host}:{port}"
        self.port = 0

    async def start(self) -> None:
        self.port = self._server.add_insecure_port(self._address)
        await self._server.start()
        log.info("gRPC (OIP v2 and the model's service) on %s", self._address)

    async def stop(self) -> None:
        await self._server.stop(grace=1.0)
