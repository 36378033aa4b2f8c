"""A private Distribution registry behind `auth: token`, for tests that need its realm to be a
gateway they run themselves (the shared registry's realm is one fixed URL: reconfiguring it
mid-run would break everyone else's tests). Same binary and configuration shape as
`scripts/services/registry.sh`, on a port and storage of its own."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from registry_keys import RegistryKeys

SERVICE = "modelbay-registry"
ISSUER = "modelbay"
START_TIMEOUT_SECONDS = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class TokenRegistry:
    address: str  # host:port, what image names start with
    realm: str
    log_file: Path


def _config(directory: Path, port: int, realm: str, keys: RegistryKeys) -> str:
    return f"""\
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {directory / "storage"}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
  secret: modelbay-test-registry
auth:
  token:
    realm: {realm}
    service: {SERVICE}
    issuer: {ISSUER}
    rootcertbundle: {keys.cert_file}
"""


def _answers_with_a_challenge(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
    except urllib.error.HTTPError as answer:
        return answer.code == 401 and "Bearer" in answer.headers.get("WWW-Authenticate", "")
    except OSError:
        return False
    return False  # 200 would mean an open registry: not what we started


@contextlib.contextmanager
def running_token_registry(
    directory: Path, realm: str, keys: RegistryKeys
) -> Iterator[TokenRegistry]:
    """Start `docker-registry serve` with token auth; stop it (this process only) afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = directory / "registry.yml"
    config.write_text(_config(directory, port, realm, keys))
    log_file = directory / "registry.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            ["docker-registry", "serve", str(config)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not _answers_with_a_challenge(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"the token-auth registry did not start on port {port}: "
                    f"{log_file.read_text()[-2000:]}"
                )
            time.sleep(0.1)
        yield TokenRegistry(f"127.0.0.1:{port}", realm, log_file)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
