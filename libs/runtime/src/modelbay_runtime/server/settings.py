"""Runtime server configuration from `MODELBAY_RUNTIME_*` environment variables.

A frozen dataclass rather than pydantic-settings: the server avoids importing pydantic at all
to keep cold start and idle memory low (the CLI passes its flags through the same variables so
that uvicorn worker processes, which start fresh, see the same configuration).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

ENV_PREFIX = "MODELBAY_RUNTIME_"
MODEL_PROCESS_CHOICES = ("auto", "on", "off")


@dataclass(frozen=True)
class RuntimeSettings:
    bundle_dir: str = "/model"
    host: str = "0.0.0.0"
    port: int = 8080
    # The gRPC port (OIP v2 and the model's own service, docs/runtime.md "gRPC"); 0 = off. Off
    # by default for a bare `serve` (local models and tests start many servers on one host);
    # model images turn it on at 8081.
    grpc_port: int = 0
    workers: int = 1
    # Batching: the cost budget of one merged model call in rows (requests of any size are
    # merged while their rows fit; a request larger than the budget runs alone), and how long a
    # batch may wait for requests that are already being received before it is sent.
    # 1024 rather than a small request count: a model call's fixed cost (scikit-learn's forest
    # set-up, numpy conversion, thread hand-off) dominates up to hundreds of rows, so eight
    # 100-row requests cost about one call (docs/benchmarks.md, "Serving").
    batching: bool = True
    max_batch_size: int = 1024
    max_batch_wait_ms: float = 2.0
    max_body_bytes: int = 10 * 1024 * 1024
    # One thread calls the model by default: many models are not thread-safe, and with the
    # GIL more threads rarely help. Raise it for models that release the GIL.
    model_threads: int = 1
    # Where the model runs: `on` a process of its own (its own GIL and core, the event loop
    # keeps the other), `off` threads of the serving process, `auto` a process for pickled
    # Python models when two cores are usable (docs/runtime.md "Model process").
    model_process: str = "auto"
    warmup: bool = False
    log_level: str = "info"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RuntimeSettings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for spec in fields(cls):
            raw = env.get(ENV_PREFIX + spec.name.upper())
            if raw is None:
                continue
            if spec.name == "workers" and raw.strip() == "auto":
                values["workers"] = usable_cores()
                continue
            values[spec.name] = _parse(spec.name, str(spec.type), raw)
        settings = cls(**values)  # type: ignore[arg-type]
        settings.check()
        return settings

    def check(self) -> None:
        if not 0 <= self.grpc_port <= 65535:
            raise ValueError("grpc_port must be 0 (off) or a port number")
        if self.workers < 1:
            raise ValueError("workers must be >= 1")
        if self.max_batch_size < 1:
            raise ValueError("max_batch_size must be >= 1")
        if self.max_batch_wait_ms < 0:
            raise ValueError("max_batch_wait_ms must be >= 0")
        if self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be >= 1")
        if self.model_threads < 1:
            raise ValueError("model_threads must be >= 1")
        if self.model_process not in MODEL_PROCESS_CHOICES:
            raise ValueError(f"model_process must be one of {', '.join(MODEL_PROCESS_CHOICES)}")

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings in a worker process."""
        return {
            ENV_PREFIX + spec.name.upper(): _format(getattr(self, spec.name))
            for spec in fields(self)
        }


def usable_cores() -> int:
    """What `workers = auto` means: the cores this process may run on (its affinity mask)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _parse(name: str, type_name: str, raw: str) -> object:
    try:
        if type_name == "bool":
            lowered = raw.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {type_name}") from None
    return raw


def _format(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
