"""The builder in local-process mode (no Docker), as the tests that serve models as child
processes start it (test_builder_local_process.py, test_builder_try_local.py): its settings, a
started service whose events are recorded, the outcome of one version's build, and the model
servers still alive under a work directory."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from modelbay_builder.local.process import LocalProcessRunner
from modelbay_builder.main import BuilderService, build_service
from modelbay_builder.served import ServedModel
from modelbay_builder.settings import BuilderSettings
from modelbay_common.blob import BlobStore
from modelbay_common.bus.port import Bus
from modelbay_common.events import Envelope

# A bound so that a hang fails the test, not an assertion on speed (a venv may be built first).
SAFETY_TIMEOUT = 900.0


@dataclass
class RunningBuilder:
    """A started local-process builder; what the builder conftest's `publish` needs."""

    service: BuilderService
    blobs: BlobStore
    bus: Bus
    owner: str
    events: list[Envelope] = field(default_factory=list)
    served: list[ServedModel] = field(default_factory=list)


@dataclass
class LocalBuilder:
    """A module's builder: the running service (replaced when a test restarts it) and its work
    directory."""

    running: RunningBuilder
    work_dir: Path

    @property
    def service(self) -> BuilderService:
        return self.running.service

    @property
    def runner(self) -> LocalProcessRunner:
        runner = self.service.runner
        assert isinstance(runner, LocalProcessRunner)
        return runner


def local_process_settings(database_url: str, root: Path) -> BuilderSettings:
    """Local-process mode over `root` (blobs and work directory), polling fast."""
    return BuilderSettings(
        database_url=database_url,
        bus_url="memory://",
        blob_url=(root / "blobs").as_uri(),
        work_dir=root / "work",
        mode="local-process",
        worker_poll_seconds=0.2,
        outbox_poll_seconds=0.1,
        log_json=False,
    )


async def start_local_builder(settings: BuilderSettings, owner: str) -> RunningBuilder:
    """Start the service, recording every model event and every served model's URL."""
    service = build_service(settings)
    assert service.mode == "local-process"
    running = RunningBuilder(service, service.blob_store, service.bus, owner)
    service.on_served(running.served.append)  # the public hook the embedded mode prints from

    async def observe(event: Envelope) -> None:
        running.events.append(event)

    await service.bus.subscribe("test.observer", ["modelbay.model.#"], observe)
    await service.start()
    return running


async def build_outcome(
    builder: RunningBuilder, name: str, version: int, bound: float = SAFETY_TIMEOUT
) -> Envelope:
    """The builder's event for `name` `version` (built or failed), waited for at most `bound`."""

    async def poll() -> Envelope:
        while True:
            for event in builder.events:
                data = event.data
                if (
                    event.source == "/modelbay/builder"
                    and data.name == name
                    and data.version == version
                ):
                    return event
            await asyncio.sleep(0.2)

    return await asyncio.wait_for(poll(), bound)


def model_server_pids(work_dir: Path) -> list[int]:
    """Live processes running a model server from `work_dir` (zombies left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split(") ", 1)[1][0]
        except (OSError, IndexError):
            continue
        if state == "Z":
            continue
        if b"modelbay_runtime" in cmdline and any(str(work_dir).encode() in a for a in cmdline):
            found.append(int(entry.name))
    return sorted(found)
