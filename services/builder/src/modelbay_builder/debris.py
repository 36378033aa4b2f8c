"""What a killed builder leaves behind, swept by the next builder on the same host.

- validation containers (`docker run` of the image under test) outlive a killed builder, running
  forever: each is labelled with its builder's owner tag (`modelbay_common.scratch.owner_tag`),
  and a container whose builder is dead (same host and pid namespace, pid gone) is removed;
- scratch directories of killed builds (`WORK_DIR/builds/build-<owner tag>-...`, ~194 MB each,
  issue 11 defect 5) are removed the same way.

Containers and directories of live builders, of this builder and of other hosts are never
touched. Swept at start and every `DEBRIS_SWEEP_SECONDS` (a label-filtered container list and a
directory listing: cheap).
"""

from __future__ import annotations

import logging
from pathlib import Path

import docker
from docker.errors import DockerException, NotFound
from modelbay_common.scratch import (
    DebrisSweeper,
    ProcessIdentity,
    sweep,
    tag_is_debris,
    this_process,
)

from modelbay_builder.docker_client import DockerConnection

log = logging.getLogger(__name__)

VALIDATION_LABEL = "dev.modelbay.validation"
OWNER_LABEL = "dev.modelbay.owner"
SCRATCH_BASE = "build-"


def builds_directory(work_dir: Path) -> Path:
    return work_dir / "builds"


def sweep_validation_containers(
    client: docker.DockerClient, me: ProcessIdentity | None = None
) -> list[str]:
    """Remove validation containers whose builder is dead; their names."""
    me = me or this_process()
    removed: list[str] = []
    for container in client.containers.list(all=True, filters={"label": VALIDATION_LABEL}):
        tag = (container.labels or {}).get(OWNER_LABEL)
        if not tag or not tag_is_debris(tag, me):
            continue
        try:
            container.remove(force=True)
        except NotFound:
            continue  # gone meanwhile
        removed.append(str(container.name))
    if removed:
        log.info("removed %d validation containers of dead builders: %s", len(removed), removed)
    return removed


def sweep_builder_debris(
    work_dir: Path, client: docker.DockerClient | None, me: ProcessIdentity | None = None
) -> None:
    """One sweep: scratch directories always, validation containers when there is an engine."""
    sweep(builds_directory(work_dir), [SCRATCH_BASE], me)
    if client is None:
        return
    try:
        sweep_validation_containers(client, me)
    except DockerException as exc:
        log.warning("could not list validation containers to sweep: %s", exc)


def debris_sweeper(
    work_dir: Path, engine: DockerConnection | None, interval: float
) -> DebrisSweeper:
    """The service-host worker that sweeps at start (before the first claim) and periodically."""

    def sweep_once() -> None:
        sweep_builder_debris(work_dir, engine.client if engine is not None else None)

    return DebrisSweeper(sweep_once, interval)
