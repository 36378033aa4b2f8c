"""The model process (issue 14, docs/runtime.md "Model process") on a real `serve`: the same
answers as the model in threads, the model loaded only once (in the model process), and a model
process that dies stops the server with exit status 4 naming the cause."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from modelbay_runtime.server.load_failure import (
    EXIT_MODEL_PROCESS_DIED,
    MODEL_PROCESS_DIED_MARKER,
)
from test_runtime_server import (
    IrisBundle,
    RunningServer,
    build_iris_bundle,
    message_class,
    payload_of,
    start_server,
    stop,
)

STOP_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module")
def iris_bundle(tmp_path_factory: pytest.TempPathFactory) -> IrisBundle:
    return build_iris_bundle(tmp_path_factory.mktemp("bundle") / "iris")


@pytest.fixture(scope="module")
def in_process(iris_bundle: IrisBundle) -> Iterator[RunningServer]:
    running = start_server(iris_bundle, "--model-process", "on")
    yield running
    stop(running.process)


@pytest.fixture(scope="module")
def in_threads(iris_bundle: IrisBundle) -> Iterator[RunningServer]:
    running = start_server(iris_bundle, "--model-process", "off")
    yield running
    stop(running.process)


def _children(pid: int) -> list[int]:
    # Of every thread: the model process is started from a thread of the serving process.
    texts = (task / "children" for task in Path(f"/proc/{pid}/task").iterdir())
    return sorted(int(child) for text in texts for child in text.read_text().split())


def _maps_sklearn(pid: int) -> bool:
    return "sklearn" in Path(f"/proc/{pid}/maps").read_text()


def test_the_model_is_loaded_once_in_the_model_process(in_process: RunningServer) -> None:
    (worker,) = _children(in_process.process.pid)
    assert _maps_sklearn(worker)  # the model's libraries live in the model process ...
    assert not _maps_sklearn(in_process.process.pid)  # ... and not in the serving process


def test_answers_equal_the_model_in_threads(
    in_process: RunningServer, in_threads: RunningServer
) -> None:
    rows = in_process.bundle.data[::3]
    expected = in_process.bundle.estimator.predict(rows).tolist()
    for server in (in_process, in_threads):
        answer = httpx.post(f"{server.url}/model/methods/classify", json=payload_of(rows))
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"IrisType": expected}
    descriptors = httpx.get(f"{in_process.url}/model/metadata").json()
    assert descriptors["methods"]["classify"]["batching"] is True


def test_protobuf_and_bad_input_as_in_threads(
    in_process: RunningServer, in_threads: RunningServer
) -> None:
    descriptor_set = in_process.bundle.path.joinpath("model.descriptor.pb").read_bytes()
    request_class = message_class(descriptor_set, "modelbay.iris.Input")
    rows = in_process.bundle.data[:5]
    body = request_class(**payload_of(rows)).SerializeToString()
    headers = {"content-type": "application/x-protobuf"}
    bad = {"sepal_length": ["x"], "sepal_width": [1.0], "petal_length": [1.0], "petal_width": [1]}
    answers: list[tuple[int, bytes, int]] = []
    problems: list[dict[str, object]] = []
    for server in (in_process, in_threads):
        url = f"{server.url}/model/methods/classify"
        protobuf = httpx.post(url, content=body, headers=headers)
        refused = httpx.post(url, json=bad)
        answers.append((protobuf.status_code, protobuf.content, refused.status_code))
        problems.append(refused.json())
    assert answers[0] == answers[1]
    assert problems[0] == problems[1]
    assert answers[0][2] == 422
    assert problems[0]["field"] == "sepal_length[0]"


async def test_concurrent_requests_are_batched_and_split_exactly(
    in_process: RunningServer,
) -> None:
    data = in_process.bundle.data
    parts = [data[i : i + 1 + i % 7] for i in range(0, 140, 4)]
    async with httpx.AsyncClient(base_url=in_process.url, timeout=60) as client:
        answers = await asyncio.gather(
            *(client.post("/model/methods/classify", json=payload_of(part)) for part in parts)
        )
    estimator = in_process.bundle.estimator
    for part, answer in zip(parts, answers, strict=True):
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"IrisType": estimator.predict(part).tolist()}


def test_a_model_process_that_dies_stops_the_server_with_exit_4(iris_bundle: IrisBundle) -> None:
    running = start_server(iris_bundle, "--model-process", "on")
    try:
        (worker,) = _children(running.process.pid)
        os.kill(worker, signal.SIGKILL)  # what the kernel's OOM killer does
        output, _ = running.process.communicate(timeout=STOP_TIMEOUT_SECONDS)
    except BaseException:
        stop(running.process)
        raise
    text = output.decode()
    assert running.process.returncode == EXIT_MODEL_PROCESS_DIED, text
    assert text.strip().splitlines()[-1] == (
        MODEL_PROCESS_DIED_MARKER + "the model process was killed by SIGKILL "
        "(the kernel's OOM killer sends it when memory runs out)"
    )


def test_sigterm_waits_for_the_model_process_and_exits_0(iris_bundle: IrisBundle) -> None:
    running = start_server(iris_bundle, "--model-process", "on")
    try:
        (worker,) = _children(running.process.pid)
        # The whole process group, as Ctrl-C or `kill -- -PGID` would: the model process must
        # keep serving until the serving process has finished, then leave when its socket closes.
        running.process.send_signal(signal.SIGTERM)
        os.kill(worker, signal.SIGTERM)
        running.process.wait(timeout=STOP_TIMEOUT_SECONDS)
    finally:
        if running.process.poll() is None:  # a failure above must not leave a server behind
            stop(running.process)
    assert running.process.returncode == 0
    assert not Path(f"/proc/{worker}").exists() or _is_zombie(worker)


def _is_zombie(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"


def test_model_in_threads_has_no_model_process(in_threads: RunningServer) -> None:
    assert _children(in_threads.process.pid) == []
    assert _maps_sklearn(in_threads.process.pid)
