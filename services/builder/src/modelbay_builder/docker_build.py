"""`docker build` through the Docker SDK's low-level API, streaming the log.

The legacy builder (what docker-py's build endpoint runs) prints `Step N/M : INSTRUCTION` and
then ` ---> Using cache` when a step is taken from the cache. Whether the dependency layer was
reused is read from that, for the pip-install step and the `COPY --from` of the venv: the
answer comes from the build itself, not from how long it took.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException

from modelbay_builder.build_log import BuildLog
from modelbay_builder.context import PIP_INSTALL_MARKER, VENV_COPY_MARKER
from modelbay_builder.errors import BuildStepFailed

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_USING_CACHE = " ---> Using cache"


@dataclass
class StepCacheTracker:
    """Follows the build stream and remembers which steps came from the cache."""

    steps: list[str] = field(default_factory=list)
    cached: set[int] = field(default_factory=set)

    def feed(self, line: str) -> None:
        match = _STEP.match(line.strip())
        if match:
            self.steps.append(match.group(3))
        elif line.startswith(_USING_CACHE) and self.steps:
            self.cached.add(len(self.steps) - 1)

    def was_cached(self, marker: str) -> bool:
        """True when every step whose instruction contains `marker` came from the cache."""
        indexes = [index for index, step in enumerate(self.steps) if marker in step]
        return bool(indexes) and all(index in self.cached for index in indexes)

    @property
    def dependency_layer_cached(self) -> bool:
        return self.was_cached(PIP_INSTALL_MARKER) and self.was_cached(VENV_COPY_MARKER)


@dataclass(frozen=True)
class BuiltImage:
    image_id: str
    dependency_layer_cached: bool


def follow_build_stream(chunks: Iterable[Mapping[str, Any]], log: BuildLog) -> BuiltImage:
    """Consume docker's decoded build stream; raise BuildStepFailed on an error message."""
    tracker = StepCacheTracker()
    image_id = ""
    pending = ""
    for chunk in chunks:
        if "error" in chunk:
            message = str(chunk.get("error", "")).strip()
            log.line(f"ERROR: {message}")
            raise BuildStepFailed(f"docker build failed: {message}", log.tail(50))
        text = chunk.get("stream")
        if isinstance(text, str):
            log.write(text)
            pieces = (pending + text).split("\n")
            pending = pieces.pop()
            for piece in pieces:
                tracker.feed(piece)
        aux = chunk.get("aux")
        if isinstance(aux, Mapping) and isinstance(aux.get("ID"), str):
            image_id = aux["ID"]
    if pending:
        tracker.feed(pending)
    if not image_id:
        raise BuildStepFailed("docker build ended without producing an image", log.tail(50))
    return BuiltImage(image_id=image_id, dependency_layer_cached=tracker.dependency_layer_cached)


def build_image(
    client: docker.DockerClient,
    context_tar: Path,
    *,
    tag: str,
    labels: Mapping[str, str],
    log: BuildLog,
    timeout: int,
) -> BuiltImage:
    """Build the context tar; the build runs with no network (pip installs from the context)."""
    try:
        with context_tar.open("rb") as context:
            chunks = client.api.build(
                fileobj=context,
                custom_context=True,
                tag=tag,
                labels=dict(labels),
                rm=True,
                forcerm=True,
                pull=False,
                network_mode="none",
                decode=True,
                timeout=timeout,
            )
            return follow_build_stream(chunks, log)
    except (APIError, DockerException) as exc:
        log.line(f"ERROR: {exc}")
        raise BuildStepFailed(f"docker build failed: {exc}", log.tail(50)) from exc
