"""Settings of the builder service, read from the environment (nothing at import time).

Every field can be set with ``MODELBAY_BUILDER_<FIELD>`` or, shared by all services, with
``MODELBAY_<FIELD>`` (the service's own name wins):

- ``DATABASE_URL`` (required): Postgres; the builder owns the ``builder`` schema and migrates it
  at start-up.
- ``BUS_URL`` (required): ``amqp://user:pass@127.0.0.1:5672/`` (RabbitMQ) or ``memory://``.
- ``BLOB_URL`` (required): ``s3://...`` or ``file:///dir``; bundles and wheelhouses are read from
  it, SBOMs written to it.
- ``HTTP_HOST`` / ``HTTP_PORT``: where ``python -m modelbay_builder`` listens (127.0.0.1:8002).
- ``LOG_LEVEL`` / ``LOG_JSON``: logging.
- ``REGISTRY``: the OCI registry images are pushed to, ``host:port`` (``127.0.0.1:5000``).
  ``REGISTRY_INSECURE`` (default true) talks plain HTTP to it for manifest look-ups.
- ``BASE_IMAGE``: the ``FROM`` of every model image (``python:3.11-slim``; on machines that
  cannot pull, ``modelbay/python:3.11-bookworm`` from ``scripts/build-base-image.sh``).
- ``DOCKER_HOST``: the Docker engine (else the standard ``DOCKER_HOST`` variable, else the
  local socket).
- ``MAX_CONCURRENT_BUILDS``: builds running at once in this process (2).
- ``VALIDATION_MEMORY_LIMIT``: memory limit of the validation container (``1g``);
  ``VALIDATION_READY_TIMEOUT_SECONDS`` (180) how long the server may take to become ready;
  ``VALIDATION_SAMPLE_TIMEOUT_SECONDS`` (60) per sample call.
- ``FLOAT_RELATIVE_TOLERANCE`` / ``FLOAT_ABSOLUTE_TOLERANCE``: how close a float output must be
  to the recorded one (1e-6 / 1e-9).
- ``WORK_DIR``: scratch space for build contexts and the cached runtime wheel
  (``$TMPDIR/modelbay-builder``).
- ``RUNTIME_WHEEL``: a prebuilt ``modelbay_runtime-*.whl`` to put in every image; else it is
  built once from ``RUNTIME_SOURCE`` (the ``libs/runtime`` directory, found next to this
  package in a source checkout) with ``uv build`` (or ``pip wheel``).
- ``MODE``: ``docker`` (build, validate and push images), ``local-process`` (no Docker: serve
  each version as a child process from a venv built from the same wheelhouse, see
  docs/builder.md) or ``auto`` (the default: ``docker`` when the engine answers at start-up,
  else ``local-process``).
- ``LOCAL_PYTHON``: the interpreter that creates the local-process venvs; it must be the lock's
  Python version (default: the builder's own interpreter). ``LOCAL_INSTALL_TIMEOUT_SECONDS``
  (900) bounds ``python -m venv`` and each ``pip install``.
- ``LOG_TAIL_LINES``: build log lines kept for the API and failure events (50).
- ``CONSUMER_NAME`` / ``EVENTS_EXCHANGE``: the queue (``builder.builds``) and the exchange.
- ``OUTBOX_POLL_SECONDS``, ``WORKER_POLL_SECONDS``: polling when no notification wakes them.
- ``STALE_BUILD_SECONDS``: a claimed build whose worker stopped heart-beating for this long is
  taken over (a crashed replica); ``MAX_BUILD_ATTEMPTS`` claims before it is failed for good.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from modelbay_common.settings import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

BuilderMode = Literal["docker", "local-process", "auto"]

SERVICE_NAME = "builder"
EVENT_SOURCE = "/modelbay/builder"


def _default_work_dir() -> Path:
    return Path(tempfile.gettempdir()) / "modelbay-builder"


class BuilderSettings(ServiceSettings):
    """Configuration of the builder; see the module docstring for the variable names."""

    model_config = SettingsConfigDict(env_prefix="MODELBAY_BUILDER_", extra="ignore")

    http_port: int = 8002
    registry: str = "127.0.0.1:5000"
    registry_insecure: bool = True
    base_image: str = "python:3.11-slim"
    docker_host: str | None = None
    max_concurrent_builds: int = Field(default=2, ge=1, le=32)
    validation_memory_limit: str = "1g"
    validation_ready_timeout_seconds: float = Field(default=180.0, gt=0)
    validation_sample_timeout_seconds: float = Field(default=60.0, gt=0)
    float_relative_tolerance: float = Field(default=1e-6, ge=0)
    float_absolute_tolerance: float = Field(default=1e-9, ge=0)
    work_dir: Path = Field(default_factory=_default_work_dir)
    runtime_wheel: Path | None = None
    runtime_source: Path | None = None
    log_tail_lines: int = Field(default=50, ge=1, le=1000)
    consumer_name: str = "builder.builds"
    events_exchange: str = "modelbay.events"
    outbox_poll_seconds: float = Field(default=1.0, gt=0)
    worker_poll_seconds: float = Field(default=5.0, gt=0)
    stale_build_seconds: float = Field(default=300.0, gt=0)
    max_build_attempts: int = Field(default=3, ge=1)
    docker_timeout_seconds: int = Field(default=600, ge=10)
    mode: BuilderMode = "auto"
    local_python: str | None = None
    local_install_timeout_seconds: float = Field(default=900.0, gt=0)
