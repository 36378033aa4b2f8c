"""Cold start (issue 13, docs/runtime.md "Cold start"): `serve` starts the model process before
it imports the HTTP side, only when the server will use one, and the server adopts it once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from modelbay_runtime.server import model_spawn
from modelbay_runtime.server.settings import RuntimeSettings

# What the serving process imports after the model process is started: none of it may come first.
HEAVY_MODULES = ("asyncio", "uvicorn", "google.protobuf", "grpc", "modelbay_runtime.server.app",
                 "modelbay_runtime.solution_bundle", "modelbay_runtime.loader")  # fmt: skip

_RECORD_SPAWN = """
import json, sys
from modelbay_runtime.server import model_spawn

def record(settings):
    heavy = [name for name in json.loads(sys.argv[2]) if name in sys.modules]
    print("SPAWNED", json.dumps(heavy), flush=True)
    raise SystemExit(0)

model_spawn.spawn = record
from modelbay_runtime.__main__ import main
main(["serve", sys.argv[1], "--port", "0"])
"""


def _python_bundle(directory: Path) -> Path:
    directory.mkdir()
    (directory / "manifest.json").write_text(json.dumps({"kind": "python"}))
    return directory


def test_serve_starts_the_model_process_before_importing_the_http_side(tmp_path: Path) -> None:
    bundle = _python_bundle(tmp_path / "bundle")
    environment = {"MODELBAY_RUNTIME_MODEL_PROCESS": "on", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", _RECORD_SPAWN, str(bundle), json.dumps(HEAVY_MODULES)],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "SPAWNED []" in done.stdout.splitlines(), done.stdout + done.stderr


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[RuntimeSettings]:
    started: list[RuntimeSettings] = []

    def fake_spawn(settings: RuntimeSettings) -> object:
        started.append(settings)
        return ("process", "socket")

    monkeypatch.setattr(model_spawn, "spawn", fake_spawn)
    monkeypatch.setattr(model_spawn, "_prestarted", {})
    return started


def test_prestart_is_adopted_once(tmp_path: Path, spawned: list[RuntimeSettings]) -> None:
    settings = RuntimeSettings(bundle_dir=str(_python_bundle(tmp_path / "b")), model_process="on")
    assert model_spawn.prestart_if_used(settings)
    assert spawned == [settings]
    adopted: object = model_spawn.adopt_prestarted(settings)
    assert adopted == ("process", "socket")
    assert model_spawn.adopt_prestarted(settings) is None  # a second runner starts its own


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("model in threads", {"model_process": "off"}),
        ("each uvicorn worker starts its own", {"model_process": "on", "workers": 2}),
        ("a solution is served by the orchestrator", {"model_process": "on"}),
    ],
)
def test_no_prestart_when_the_server_will_not_use_it(
    tmp_path: Path, spawned: list[RuntimeSettings], case: str, options: dict[str, object]
) -> None:
    bundle = _python_bundle(tmp_path / "b")
    if case.startswith("a solution"):
        (bundle / "solution.json").write_text("{}")
    settings = RuntimeSettings(bundle_dir=str(bundle), **options)  # type: ignore[arg-type]
    assert not model_spawn.prestart_if_used(settings)
    assert spawned == []
