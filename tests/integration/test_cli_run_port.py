"""`modelbay run` without `--port` lets Docker bind a free port and reports it (docs/sdk.md), so
a taken 8080 no longer fails with "port is already allocated". Real Docker engine."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator

import pytest
from modelbay.docker_run import (
    CONTAINER_PORT,
    GRPC_CONTAINER_PORT,
    published_port,
    start_container,
)

# A stand-in model server: anything answering HTTP on the container port.
HTTP_SERVER = ("python3", "-m", "http.server", str(CONTAINER_PORT), "--bind", "0.0.0.0")
ANSWER_WAIT_SECONDS = 60.0  # a bound so a broken container fails the test, not a speed check


@pytest.fixture
def docker() -> str:
    found = shutil.which("docker")
    assert found is not None, "the docker CLI is needed (make services-up)"
    return found


@pytest.fixture
def port_8080_taken() -> Iterator[None]:
    """8080 on the loopback is taken for the test (by us, unless someone already holds it)."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", CONTAINER_PORT))
        holder.listen()
    except OSError:
        pass  # already taken by someone else: the situation under test anyway
    try:
        yield
    finally:
        holder.close()


def _answers(port: int) -> bool:
    deadline = time.monotonic() + ANSWER_WAIT_SECONDS
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response,
        ):
            return response.status == 200
        time.sleep(0.3)
    return False


def test_without_a_port_docker_picks_a_free_one(
    docker: str, base_image: str, port_8080_taken: None
) -> None:
    container, port = start_container(docker, base_image, None, *HTTP_SERVER)
    try:
        assert port != CONTAINER_PORT
        assert _answers(port)
    finally:
        subprocess.run([docker, "rm", "-f", container], capture_output=True, check=False)


def test_a_given_port_is_used(docker: str, base_image: str) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    container, port = start_container(docker, base_image, free, *HTTP_SERVER)
    try:
        assert port == free
        assert _answers(port)
    finally:
        subprocess.run([docker, "rm", "-f", container], capture_output=True, check=False)


def test_the_grpc_port_is_published_when_asked(docker: str, base_image: str) -> None:
    """`modelbay run --grpc-port 0`: 8081 published on a free port as well, which
    `published_port` reads back (here a second HTTP server stands in for the gRPC one)."""
    both = (
        "sh",
        "-c",
        f"python3 -m http.server {GRPC_CONTAINER_PORT} --bind 0.0.0.0 & exec "
        + " ".join(HTTP_SERVER),
    )
    container, port = start_container(docker, base_image, None, *both, grpc_port=0)
    try:
        grpc_port = published_port(docker, container, GRPC_CONTAINER_PORT)
        assert grpc_port != port
        assert _answers(port)
        assert _answers(grpc_port)
    finally:
        subprocess.run([docker, "rm", "-f", container], capture_output=True, check=False)
