"""The ASGI application: lifespan (model loading in the background), routing, error rendering.

The process answers `/healthz` at once; the model loads in a thread after start-up (after the
fork, so each uvicorn worker has its own copy), then the optional warm-up call runs, and only
then `/readyz` turns 200. Model endpoints answer 503 until then. With several workers, each
finishes loading before it accepts connections, so no request lands on a loading worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelbay_runtime.server.asgi import Receive, Request, Response, Router, Scope, Send
from modelbay_runtime.server.invoke import ModelRunner, Runner
from modelbay_runtime.server.load_failure import report_and_stop, root_cause
from modelbay_runtime.server.metrics import ServerMetrics
from modelbay_runtime.server.model import ServableModel
from modelbay_runtime.server.problem import PROBLEM_MEDIA_TYPE, ProblemError, internal_error
from modelbay_runtime.server.routes_model import ModelRoutes
from modelbay_runtime.server.routes_oip import OipRoutes
from modelbay_runtime.server.settings import RuntimeSettings
from modelbay_runtime.server.state import ServingState
from modelbay_runtime.server.warmup import first_sample

if TYPE_CHECKING:
    from modelbay_runtime.server.model_process import ProcessRunner
    from modelbay_runtime.server.rpc.server import GrpcPort

log = logging.getLogger("modelbay_runtime.server")
ModelLoader = Callable[[], ServableModel]


class ModelServer:
    def __init__(
        self,
        settings: RuntimeSettings,
        load_model: ModelLoader,
        *,
        exit_on_load_failure: bool = False,
        model_process: bool = False,
    ) -> None:
        self.settings = settings
        self.metrics = ServerMetrics()
        self.runner: Runner
        self._model_process: ProcessRunner | None = None
        if model_process:
            # Imported only when used: the worker's protocol is not needed in thread mode.
            from modelbay_runtime.server.model_process import ProcessRunner

            self._model_process = ProcessRunner(settings, self._model_process_died)
            self.runner = self._model_process
        else:
            self.runner = ModelRunner(settings.model_threads)
        self.runtime_version = _runtime_version()
        self._load_model = load_model
        self._exit_on_load_failure = exit_on_load_failure
        self._state: ServingState | None = None
        self._failure: str | None = None
        self._loading: asyncio.Task[None] | None = None
        self._grpc: GrpcPort | None = None
        self.router = self._routes()

    # -- lifecycle -------------------------------------------------------------------------

    async def startup(self) -> None:
        self._loading = asyncio.create_task(self._load(), name="load-model")
        if self.settings.workers > 1:
            # Workers share one listening socket and a worker only accepts connections once its
            # start-up is complete: waiting here keeps requests away from a worker whose model
            # is still loading (they would get 503 while a sibling is ready). A single worker
            # loads in the background instead, so /healthz answers at once.
            await asyncio.shield(self._loading)
        if self.settings.grpc_port:
            # After the wait above, for the same reason: with several workers the gRPC port is
            # shared too (SO_REUSEPORT), so a worker binds it only once its model is loaded.
            # Imported only when asked for: the HTTP-only server never loads grpcio.
            from modelbay_runtime.server.rpc.server import GrpcPort

            self._grpc = GrpcPort(
                self,
                self.settings.host,
                self.settings.grpc_port,
                reuse_port=self.settings.workers > 1,
            )
            await self._grpc.start()

    async def wait_loaded(self) -> None:
        """For tests and embedders: until the model is ready or failed to load."""
        if self._loading is not None:
            await asyncio.shield(self._loading)

    async def shutdown(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop()
        if self._loading is not None and not self._loading.done():
            self._loading.cancel()
        if self._state is not None:
            for runtime in self._state.methods.values():
                if runtime.batcher is not None:
                    await runtime.batcher.close()
        await self.runner.close()

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            model: ServableModel
            if self._model_process is not None:
                model = await self._model_process.start()
            else:
                model = await loop.run_in_executor(None, self._load_model)
            state = ServingState.build(model, self.settings, self.runner, self.metrics)
            if self.settings.warmup:
                await self._warm_up(state)
        except Exception as exc:
            self._failure = _load_failure_cause(exc)
            log.exception("the model could not be loaded")
            if self._exit_on_load_failure:
                # `python -m modelbay_runtime serve` then exits non-zero naming the root cause.
                report_and_stop(self._failure)
            return
        self._state = state
        log.info("model %s ready (%d methods)", model.name, len(state.methods))

    async def _warm_up(self, state: ServingState) -> None:
        sample = first_sample(state.model)
        if sample is None:
            log.warning("warm-up is on but the bundle has no sample input; skipping it")
            return
        method_name, payload = sample
        await self.runner.call(state.methods[method_name].method, payload)
        log.info("warm-up call of %s done", method_name)

    def _model_process_died(self, cause: str) -> None:
        """The model process stopped while serving: answer 503 from now on and stop the server,
        which `serve` turns into exit status 4 naming `cause` (load_failure.py)."""
        self._failure, self._state = cause, None
        if self._exit_on_load_failure:
            report_and_stop(cause, died=True)

    def ready_state(self) -> ServingState:
        if self._state is not None:
            return self._state
        if self._failure is not None:
            raise ProblemError(503, "model-failed", "Model failed to load", "See the server log.")
        raise ProblemError(
            503,
            "model-loading",
            "Model is loading",
            "The model is not ready yet; retry shortly.",
            headers={"retry-after": "1"},
        )

    # -- ASGI ------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        try:
            handler, params = self.router.resolve(scope["method"], path)
            response = await handler(Request(scope, receive, params))
        except ProblemError as problem:
            response = self._problem_response(problem, path)
        except Exception:
            log.exception("unhandled error on %s %s", scope["method"], path)
            response = self._problem_response(internal_error(), path)
        if scope["method"] == "HEAD":
            response.body = b""
        await response.send(send)

    def _problem_response(self, problem: ProblemError, path: str) -> Response:
        self.metrics.error(problem.kind)
        return Response(problem.status, problem.render(path), PROBLEM_MEDIA_TYPE, problem.headers)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- small endpoints -------------------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        if self._failure is not None:
            raise ProblemError(503, "model-failed", "Model failed to load", "See the server log.")
        return Response(200, b'{"status":"alive"}')

    async def readyz(self, request: Request) -> Response:
        self.ready_state()
        return Response(200, b'{"status":"ready"}')

    async def prometheus(self, request: Request) -> Response:
        return Response(200, self.metrics.exposition(), self.metrics.content_type)

    def _routes(self) -> Router:
        model, oip = ModelRoutes(self), OipRoutes(self)
        router = Router()
        get, post = ("GET",), ("POST",)
        router.add(post, "/model/methods/{method}", model.predict)
        router.add(get, "/model/metadata", model.metadata)
        router.add(get, "/model/proto", model.proto)
        router.add(get, "/openapi.json", model.openapi)
        router.add(get, "/docs", model.docs)
        router.add(get, "/healthz", self.healthz)
        router.add(get, "/readyz", self.readyz)
        router.add(get, "/metrics", self.prometheus)
        router.add(get, "/v2", oip.server_metadata)
        router.add(get, "/v2/health/live", oip.live)
        router.add(get, "/v2/health/ready", oip.ready)
        for base in ("/v2/models/{name}", "/v2/models/{name}/versions/{version}"):
            router.add(get, base, oip.model_metadata)
            router.add(get, base + "/ready", oip.model_ready)
            router.add(post, base + "/infer", oip.infer)
        return router


def _load_failure_cause(exc: Exception) -> str:
    from modelbay_runtime.server.model_process import ModelLoadFailedElsewhere

    # The model process already reduced its failure to the root cause, in the same form.
    return str(exc) if isinstance(exc, ModelLoadFailedElsewhere) else root_cause(exc)


def _runtime_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("modelbay-runtime")
    except PackageNotFoundError:
        return "unknown"


def create_app(
    settings: RuntimeSettings | None = None,
    load_model: ModelLoader | None = None,
    **options: Any,
) -> ModelServer:
    """The app for `settings` (default: from MODELBAY_RUNTIME_* variables)."""
    settings = settings or RuntimeSettings.from_env()
    bundle_dir = settings.bundle_dir
    if load_model is None and "model_process" not in options:
        from modelbay_runtime.server.model_spawn import use_model_process

        options["model_process"] = use_model_process(settings)
    return ModelServer(settings, load_model or (lambda: load_bundle(bundle_dir)), **options)


def create_app_from_env() -> ModelServer:
    """uvicorn factory for worker processes: settings from the environment, exit if loading
    fails so the container (or uvicorn's supervisor) notices."""
    settings = RuntimeSettings.from_env()
    # uvicorn configures only its own loggers; ours (and the model's) go to stderr via root.
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return create_app(settings, exit_on_load_failure=True)


def load_bundle(bundle_dir: str) -> ServableModel:
    # Imported when called: the loader belongs to the core package and may pull in the model's
    # own dependencies while unpickling.
    import importlib

    loader = importlib.import_module("modelbay_runtime.loader")
    model: ServableModel = loader.load_bundle(bundle_dir)
    return model
