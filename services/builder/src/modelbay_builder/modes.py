"""Which runner builds and serves models: the Docker pipeline or local processes from venvs.

`settings.mode` is `docker`, `local-process` or `auto`; `auto` asks the engine once, at start-up
(here, not per build), and falls back to local processes with a warning that says how to choose
explicitly. Tests pass their own runner and exporter, which makes the question moot.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from typing import Literal

from modelbay_common.blob import BlobStore
from modelbay_common.serving import Worker

from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.images import DockerImageExporter, ImageExporter
from modelbay_builder.local.process import LocalProcessRunner
from modelbay_builder.local.refs import LocalProcessExporter
from modelbay_builder.pipeline import BuildRunner
from modelbay_builder.registry import RegistryCredentials
from modelbay_builder.runtime_wheel import RuntimeWheel
from modelbay_builder.served import ServedModels, ServesModels
from modelbay_builder.settings import BuilderSettings
from modelbay_builder.worker import Runner

log = logging.getLogger(__name__)

ResolvedMode = Literal["docker", "local-process"]


@dataclass(frozen=True)
class RunnerChoice:
    mode: ResolvedMode
    runner: Runner
    exporter: ImageExporter

    @property
    def managed(self) -> tuple[Worker, ...]:
        """The runner itself when it has processes to start and stop (the model servers)."""
        return (self.runner,) if isinstance(self.runner, Worker) else ()

    @property
    def served(self) -> ServedModels:
        """Who hears of each model served here; with Docker none is (the image is the product)."""
        return self.runner.served if isinstance(self.runner, ServesModels) else ServedModels()


def choose_runner(
    settings: BuilderSettings,
    blobs: BlobStore,
    docker: DockerConnection,
    *,
    runner: Runner | None = None,
    exporter: ImageExporter | None = None,
) -> RunnerChoice:
    """The runner and image exporter of the resolved mode; a given `runner` is kept as is."""
    wheel = RuntimeWheel(
        settings.work_dir / "runtime-wheels",
        wheel=settings.runtime_wheel,
        source=settings.runtime_source,
    )
    # A given runner (tests) makes the question moot: only the default runner needs the engine.
    mode = resolve_mode(settings) if runner is None else _declared_mode(settings)
    if mode == "local-process":
        runner = runner or LocalProcessRunner(
            settings, blobs, wheel, base_python=settings.local_python or sys.executable
        )
        exporter = exporter or LocalProcessExporter()
    if mode == "local-process" and settings.mode == "auto":
        log.warning(
            "no Docker engine answered at %s: models will run as local processes from venvs "
            "built from the same wheelhouse (MODELBAY_BUILDER_MODE=local-process)",
            settings.docker_host or "DOCKER_HOST / the local socket",
        )
    log.info("builder mode: %s", mode)
    return RunnerChoice(
        mode=mode,
        runner=runner or BuildRunner(settings, docker, blobs, wheel),
        exporter=exporter
        or DockerImageExporter(docker, RegistryCredentials(settings.registry_tokens())),
    )


def resolve_mode(settings: BuilderSettings) -> ResolvedMode:
    """`docker` or `local-process`; `auto` is `docker` when the engine answers a ping now."""
    if settings.mode != "auto":
        return settings.mode
    return "docker" if docker_answers(settings.docker_host) else "local-process"


def _declared_mode(settings: BuilderSettings) -> ResolvedMode:
    return "docker" if settings.mode == "auto" else settings.mode


def docker_answers(base_url: str | None) -> bool:
    import docker

    try:
        client = (
            docker.DockerClient(base_url=base_url, timeout=5)
            if base_url
            else docker.from_env(timeout=5)
        )
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False
