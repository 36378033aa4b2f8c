"""Abuse suite (issue 11): schemathesis against a running model server's own OpenAPI.

The server is `python -m modelbay_runtime serve` on the paper's Fig. 2 iris bundle, a real
process on a free loopback port. Every generated request must be answered below 500, and every
4xx as RFC 9457 problem+json. `MODELBAY_FUZZ_EXAMPLES` raises the bound (`make fuzz`).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from onboarding_iris import make_iris_bundle_dir
from schema_fuzz import examples_per_operation, fuzz, load_schema

EXAMPLES_PER_OPERATION = 60  # per mode (valid, invalid): a few hundred cases in make test
START_BOUND_SECONDS = 120.0  # the machine is shared; a guard against a hung start only


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    bundle = make_iris_bundle_dir(tmp_path_factory.mktemp("fuzz-bundle"))
    port = _free_port()
    log = tmp_path_factory.mktemp("fuzz-log") / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELBAY_RUNTIME_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    argv = [sys.executable, "-m", "modelbay_runtime", "serve", str(bundle)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*argv, "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_BOUND_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the model server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the model server did not become ready:\n{log.read_text()}")


def test_model_server_answers_every_generated_request_below_500(model_server: str) -> None:
    schema = load_schema(model_server + "/openapi.json", {})
    report = fuzz(
        schema,
        model_server,
        {},
        max_examples=examples_per_operation(EXAMPLES_PER_OPERATION),
    )
    print(report.summary())  # the figures for docs/reliability.md (pytest -s)
    assert report.cases > 0
    assert not report.server_errors, report.summary()
    assert not report.not_problem_json, report.summary()
