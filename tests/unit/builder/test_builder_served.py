"""The builder's "a model is now served" hook: listeners, their failures, and its wiring."""

from __future__ import annotations

from pathlib import Path

import pytest
from modelbay_builder.local.process import LocalProcessRunner
from modelbay_builder.main import build_service
from modelbay_builder.served import ServedModel, ServedModels
from modelbay_builder.settings import BuilderSettings

IRIS = ServedModel("alice", "iris", 3, "http://127.0.0.1:41234")


def test_every_listener_hears_of_a_served_model() -> None:
    served = ServedModels()
    first: list[ServedModel] = []
    second: list[ServedModel] = []
    served.subscribe(first.append)
    served.subscribe(second.append)
    served.announce(IRIS)
    assert first == [IRIS]
    assert second == [IRIS]
    assert IRIS.subject == "alice/iris/3"


def test_a_failing_listener_does_not_silence_the_others(caplog: pytest.LogCaptureFixture) -> None:
    served = ServedModels()
    heard: list[ServedModel] = []

    def broken(model: ServedModel) -> None:
        raise RuntimeError("the terminal went away")

    served.subscribe(broken)
    served.subscribe(heard.append)
    served.announce(IRIS)
    assert heard == [IRIS]
    assert "alice/iris/3" in caplog.text


def test_the_local_process_runner_announces_to_the_services_listeners(tmp_path: Path) -> None:
    # Built, not started: no database, bus or process is touched.
    settings = BuilderSettings(
        database_url="postgresql+asyncpg://unused/unused",
        bus_url="memory://",
        blob_url=tmp_path.as_uri(),
        work_dir=tmp_path,
        mode="local-process",
    )
    service = build_service(settings)
    heard: list[ServedModel] = []
    service.on_served(heard.append)
    assert isinstance(service.runner, LocalProcessRunner)
    service.runner.served.announce(IRIS)
    assert heard == [IRIS]


class _ImageRunner:
    """Stands in for the Docker pipeline: builds images, serves nothing."""

    async def run(self, *args: object) -> object:
        raise AssertionError("not called: nothing is built here")


def test_a_builder_that_serves_nothing_still_takes_listeners(tmp_path: Path) -> None:
    settings = BuilderSettings(
        database_url="postgresql+asyncpg://unused/unused",
        bus_url="memory://",
        blob_url=tmp_path.as_uri(),
        work_dir=tmp_path,
        mode="docker",
    )
    service = build_service(settings, runner=_ImageRunner())  # type: ignore[arg-type]
    heard: list[ServedModel] = []
    service.on_served(heard.append)
    assert service.mode == "docker"
    assert heard == []
