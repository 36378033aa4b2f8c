"""The orchestrator as the images run it: `python -m modelbay_runtime serve` of a solution bundle
(and `orchestrate` of several) as real processes, nodes as real model-server processes, all on
loopback sockets; node URLs from the environment. Answers equal calling the pieces by hand."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from solution_fixtures import SAMPLE, dump_models, fig5_document, write_solution

READY_BOUND_SECONDS = 120.0  # only stops a server that never starts; not a speed check


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def serving(args: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "modelbay_runtime", *args, "--host", "127.0.0.1"]
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_BOUND_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            pytest.fail(f"{' '.join(args)} never became ready:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_serve_runs_a_solution_bundle_as_the_image_does(tmp_path: Path) -> None:
    bundles = dump_models(tmp_path / "models", ["heat", "shake", "rule"])
    solution = write_solution(tmp_path / "solutions", "fig5", fig5_document(), bundles)
    env = {**os.environ, "MODELBAY_RUNTIME_LOG_LEVEL": "warning"}
    with contextlib.ExitStack() as stack:
        nodes = {
            node_id: stack.enter_context(
                serving(["serve", str(bundles[node_id])], env, tmp_path / f"{node_id}.log")
            )
            for node_id in ("heat", "shake", "rule")
        }
        # One node by its own variable, the others through the JSON map.
        solution_env = {
            **env,
            "MODELBAY_NODE_HEAT_URL": nodes["heat"],
            "MODELBAY_SOLUTION_NODES": json.dumps({"shake": nodes["shake"], "rule": nodes["rule"]}),
        }
        url = stack.enter_context(
            serving(["serve", str(solution)], solution_env, tmp_path / "solution.log")
        )
        answer = httpx.post(f"{url}/model/methods/assess", json=SAMPLE._asdict(), timeout=30)
        reading = SAMPLE._asdict()
        heat = httpx.post(f"{nodes['heat']}/model/methods/detect", json=reading).json()
        shake = httpx.post(f"{nodes['shake']}/model/methods/detect", json=reading).json()
        evidence = {"heat": heat["score"], "shake": shake["score"]}
        expected = httpx.post(f"{nodes['rule']}/model/methods/decide", json=evidence).json()
        metadata = httpx.get(f"{url}/model/metadata").json()
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected
    assert metadata["node_urls"]["heat"] == f"{nodes['heat']}/model/methods/detect"


def test_orchestrate_serves_several_solutions(tmp_path: Path) -> None:
    bundles = dump_models(tmp_path / "models", ["heat"])
    direct = {
        "spec": "1",
        "nodes": {"heat": {"model": "alice/heat:1", "method": "detect"}},
        "edges": [{"from": "$input", "to": "heat"}],
        "output": "heat",
    }
    first = write_solution(tmp_path / "solutions", "first", direct, bundles)
    second = write_solution(tmp_path / "solutions", "second", {**direct, "method": "scan"}, bundles)
    env = {**os.environ, "MODELBAY_RUNTIME_LOG_LEVEL": "warning"}
    with serving(["serve", str(bundles["heat"])], env, tmp_path / "heat.log") as heat:
        solution_env = {**env, "MODELBAY_SOLUTION_NODES": json.dumps({"heat": heat})}
        args = ["orchestrate", str(first), str(second)]
        with serving(args, solution_env, tmp_path / "orchestrator.log") as url:
            listed = httpx.get(f"{url}/solutions").json()
            root = httpx.post(f"{url}/model/methods/predict", json=SAMPLE._asdict())
            named = httpx.post(f"{url}/solutions/second/model/methods/scan", json=SAMPLE._asdict())
    assert [s["name"] for s in listed["solutions"]] == ["first", "second"]
    assert root.json() == named.json() == {"score": 0.625, "label": "hot"}
