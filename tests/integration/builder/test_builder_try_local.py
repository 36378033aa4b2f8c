""" "Try it" without Docker: the builder's local-process mode (try_sandbox.py, `local-process://`
refs) against real Postgres, a filesystem blob store and a real wheelhouse.

A model without third-party imports (`doubler_script.py`, the model server's own wheelhouse) is
built the local way: a venv and a child process that serves the version from then on. Through
the builder's signed internal route `POST /internal/try/...` (what the gateway calls):

- a call is answered by that version's process; a second call goes to the same process (same
  pid, no new model server): in this mode the build, not the first try, starts the process, and
  it keeps serving the version (`modelbay up` prints its URL), so it is never a sandbox;
- bad input is the model's own 422, handed back as an answer naming the field;
- the idle reaper leaves the version's process alone (it removes sandboxes only), and local
  calls take no sandbox slot: `max_running` bounds containers, not served versions;
- a body over the bound is refused before the model is called, and a version whose process is
  gone is a 503 problem that says so, not a hang or a 500.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from local_builders import (
    LocalBuilder,
    build_outcome,
    local_process_settings,
    model_server_pids,
    start_local_builder,
)
from modelbay_builder.compare import Tolerance
from modelbay_builder.try_sandbox import MAX_TRY_BODY_BYTES, TrySandboxes
from modelbay_builder.validation import ValidationLimits
from modelbay_common.events import ImageBuilt
from modelbay_common.internal_auth import InternalAuth
from modelbay_common.refs import is_local_process_ref

pytestmark = pytest.mark.slow  # builds a venv (once per run; seconds when pip's cache is warm)

HERE = Path(__file__).resolve().parent
SAFETY_TIMEOUT = 600.0  # a bound so that a hang fails the test, not an assertion on speed
OWNER, NAME, VERSION = "tina", "doubler", 1
TRY = f"/internal/try/{OWNER}/{NAME}/{VERSION}/double"
SUBJECT = f"{OWNER}/{NAME}/{VERSION}"
# Generous call timeout: the machine is shared; a hang still fails.
LIMITS = ValidationLimits("1g", 1.0, 120.0, 60.0, Tolerance(1e-6, 1e-9))


class TryingBuilder(LocalBuilder):
    """The module's builder, with what "Try it" goes through."""

    @property
    def sandboxes(self) -> TrySandboxes:
        sandboxes = self.service.app.state.try_sandboxes
        assert isinstance(sandboxes, TrySandboxes)
        return sandboxes

    def client(self) -> httpx.AsyncClient:
        """Signed like the gateway's internal calls (the app refuses unsigned ones)."""
        transport = httpx.ASGITransport(app=self.service.app)
        return httpx.AsyncClient(
            transport=transport, base_url="http://builder", auth=InternalAuth(), timeout=60
        )


@pytest.fixture(scope="module")
async def local_builder(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TryingBuilder]:
    root = tmp_path_factory.mktemp("try-local")
    settings = local_process_settings(module_database_url, root)
    running = await start_local_builder(settings, OWNER)
    try:
        yield TryingBuilder(running, settings.work_dir)
    finally:
        await running.service.stop()


@pytest.fixture(scope="module")
def doubler_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The doubler's bundle archive and its Python (`3.11`)."""
    out = tmp_path_factory.mktemp("doubler") / "doubler.tar.gz"
    command = [sys.executable, str(HERE / "doubler_script.py"), str(out), "Doubles numbers"]
    dumped = subprocess.run(command, capture_output=True, text=True, check=False)
    assert dumped.returncode == 0, dumped.stderr
    with tarfile.open(out) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        python = json.loads(member.read())["python"]
    return out, ".".join(python.split(".")[:2])


@pytest.fixture(scope="module")
async def built(
    local_builder: TryingBuilder,
    doubler_bundle: tuple[Path, str],
    runtime_only_wheelhouse: Any,
    publish: Any,
) -> ImageBuilt:
    bundle, python_version = doubler_bundle
    await publish(
        local_builder.running,
        bundle,
        runtime_only_wheelhouse,
        version=VERSION,
        python_version=python_version,
        name=NAME,
    )
    event = await build_outcome(local_builder.running, NAME, VERSION, SAFETY_TIMEOUT)
    assert event.type == ImageBuilt.type, event.data
    image_built = event.event_as(ImageBuilt)
    assert is_local_process_ref(image_built.image_ref), image_built.image_ref
    return image_built


async def test_calls_reach_the_versions_own_process_and_reuse_it(
    local_builder: TryingBuilder, built: ImageBuilt
) -> None:
    server = local_builder.runner.processes.get(SUBJECT)
    assert server is not None
    work_dir = local_builder.work_dir
    assert model_server_pids(work_dir) == [server.process.pid]
    async with local_builder.client() as client:
        first = await client.post(TRY, json={"x": [1.0, 2.5]})
        second = await client.post(TRY, json={"x": [-3.0]})
    assert first.status_code == 200, first.text
    assert first.json() == {"status": 200, "body": {"x": [2.0, 5.0]}}
    assert second.json() == {"status": 200, "body": {"x": [-6.0]}}
    # The same process answered both; no process and no sandbox was started for the calls.
    assert local_builder.runner.processes.get(SUBJECT) is server
    assert model_server_pids(work_dir) == [server.process.pid]


async def test_bad_input_is_the_models_422_naming_the_field(
    local_builder: TryingBuilder, built: ImageBuilt
) -> None:
    async with local_builder.client() as client:
        answer = await client.post(TRY, json={"x": "many"})
    assert answer.status_code == 200, answer.text  # the model's refusal is an answer
    body = answer.json()
    assert body["status"] == 422, body
    assert "x" in json.dumps(body["body"]), body  # the problem names the field
    assert body["body"]["status"] == 422


async def test_the_reaper_and_the_sandbox_bound_leave_a_served_version_alone(
    local_builder: TryingBuilder, built: ImageBuilt
) -> None:
    """The same path with every sandbox idle at once and room for one: a local call takes no
    sandbox, so nothing is reaped or evicted, and the version's server keeps serving."""
    server = local_builder.runner.processes.get(SUBJECT)
    assert server is not None
    service_sandboxes = local_builder.sandboxes
    strict = TrySandboxes(
        None,
        local_builder.service.app.state.exporter,
        LIMITS,
        idle_seconds=0.0,
        max_running=1,
    )
    for value in (1.0, 2.0, 3.0):
        answer = await strict.call(built.image_ref, "double", json.dumps({"x": [value]}).encode())
        assert (answer.status, answer.body) == (200, {"x": [2 * value]})
    assert await strict.reap_idle() == []  # a sandbox idle for 0 s would be listed here
    assert await service_sandboxes.reap_idle() == []
    assert server.process.poll() is None, "the version's server was stopped"
    assert local_builder.runner.processes.get(SUBJECT) is server


async def test_refusals_are_problems_that_say_why(
    local_builder: TryingBuilder, built: ImageBuilt
) -> None:
    too_big = json.dumps({"x": [1.0] * (MAX_TRY_BODY_BYTES // 4)}).encode()
    async with local_builder.client() as client:
        refused = await client.post(
            TRY, content=too_big, headers={"Content-Type": "application/json"}
        )
        assert refused.status_code == 503, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert f"over {MAX_TRY_BODY_BYTES} bytes" in refused.json()["detail"]

        # Last: the version's process is stopped (a crash, an operator): the call says so.
        await local_builder.runner.processes.stop(SUBJECT)
        gone = await client.post(TRY, json={"x": [1.0]})
    assert gone.status_code == 503, gone.text
    problem = gone.json()
    assert problem["type"].endswith("try-not-possible"), problem
    assert "local process does not answer" in problem["detail"], problem
