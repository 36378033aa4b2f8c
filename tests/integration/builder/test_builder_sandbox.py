"""The sandbox, proven with a malicious model (docs/trust.md, "The validation sandbox").

The bundle's pickle runs code when it is loaded: it tries to write canary files (on the host's
path, on the image's root, on /tmp) and to open a TCP connection to a listener on the host. The
pickle scan would refuse it at upload; an administrator's allowance (applied here exactly as
onboarding applies it) lets it through to the builder, as it would in production. Then:
- the builder never unpickles it (no canary appears on the host, where the builder runs);
- the validation container, inspected while it runs, is non-root, has every capability dropped,
  `no-new-privileges`, a read-only root, no network, and memory, CPU and pids limits;
- the code did run inside it (its lines are in the container's log), and every attempt to
  leave was refused: no host file, no write to the root, no connection reached the listener.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import threading
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest
from malicious_bundles import CANARY_MARK, SOCKET_MARK, make_malicious_bundle_dir
from modelbay.bundle import archive_to_file
from modelbay_builder.debris import VALIDATION_LABEL
from modelbay_builder.records import BuildStatus, BuildView
from modelbay_builder.store import BuildStore
from modelbay_common.db import transaction
from modelbay_onboarding.validation.archive import ArchiveLimits
from modelbay_onboarding.validation.bundle import BundleRules, validate_bundle
from modelbay_onboarding.validation.pickle_policy import classify, declared_modules

pytestmark = pytest.mark.slow

RULES = BundleRules(
    limits=ArchiveLimits(1000, 100_000_000, 100, 10_000_000, 10_000_000),
    supported_python=("3.11",),
    require_samples=False,
)


SAFETY_TIMEOUT = 900.0  # not an assertion on speed: only a bound so a hang fails the test


async def wait_for_build(builder: Any, name: str, version: int) -> BuildView:
    async def poll() -> BuildView:
        while True:
            async with transaction(builder.service.sessions) as session:
                view = await BuildStore(session).find(builder.owner, name, version)
            if view is not None and view.status in (BuildStatus.SUCCEEDED, BuildStatus.FAILED):
                return view
            await asyncio.sleep(1)

    return await asyncio.wait_for(poll(), SAFETY_TIMEOUT)


def bridge_address(client: docker.DockerClient) -> str:
    """The host's address on Docker's default bridge: what a container with a network reaches."""
    ipam = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    return str(ipam.get("Gateway") or ipaddress.ip_network(ipam["Subnet"])[1])


def on_host(*paths: str | Path) -> list[str]:
    """Which of `paths` exist on this machine (where the builder runs)."""
    return [str(path) for path in paths if Path(path).exists()]


class ContainerWatcher:
    """Inspects every validation container of `owner` while it runs, and keeps its log."""

    def __init__(self, client: docker.DockerClient, owner: str) -> None:
        self._client, self._owner = client, owner
        self.inspected: dict[str, Any] | None = None
        self.log = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> ContainerWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _watch(self) -> None:
        while not self._stop.is_set():
            for container in self._client.containers.list(filters={"label": VALIDATION_LABEL}):
                if str(container.labels.get(VALIDATION_LABEL, "")).startswith(self._owner):
                    self._follow(container)
            self._stop.wait(0.1)

    def _follow(self, container: Any) -> None:
        try:
            if self.inspected is None:
                self.inspected = self._client.api.inspect_container(container.id)
            while not self._stop.is_set():
                self.log = container.logs().decode("utf-8", "replace")
                container.reload()
                self._stop.wait(0.2)
        except docker.errors.APIError:
            return  # gone or being removed by the builder once validation ended


class Listener:
    """A TCP listener on the host (the Docker bridge's address) that counts connections."""

    def __init__(self, host: str) -> None:
        self.server = socket.create_server((host, 0))
        self.server.settimeout(0.2)
        self.host, self.port = host, self.server.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.server.close()


async def test_a_malicious_model_runs_only_inside_the_locked_validation_container(
    builder: Any,
    runtime_only_wheelhouse: Any,
    publish: Any,
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    marker = uuid.uuid4().hex[:12]
    host_canary = tmp_path / f"canary-{marker}"  # the host path: absent in the container
    root_canary = f"/canary-{marker}"  # the image's root: read-only in the container
    tmp_canary = f"/tmp/modelbay-canary-{marker}"  # the container's own tmpfs
    listener = Listener(bridge_address(docker_client))
    bundle_dir = make_malicious_bundle_dir(
        tmp_path / "bundle",
        str(host_canary),
        root_canary,
        tmp_canary,
        host=listener.host,
        port=listener.port,
    )
    archive = archive_to_file(bundle_dir, tmp_path / "evil.tar.gz")

    # Onboarding's checks, as at upload: blocked, unless an administrator allowed the global.
    validated = validate_bundle(archive, RULES)
    declared = declared_modules(validated.manifest.model_dump())
    assert classify(validated.pickle_globals, declared).blocked == ("builtins.eval",)
    allowed = classify(validated.pickle_globals, declared, frozenset({"builtins.eval"}))
    assert allowed.status == "flagged"

    try:
        with ContainerWatcher(docker_client, builder.owner) as watcher:
            await publish(
                builder,
                archive,
                runtime_only_wheelhouse,
                version=1,
                python_version=validated.python_version,
                name="evil",
            )
            view = await wait_for_build(builder, "evil", 1)
            await asyncio.sleep(0.5)  # the watcher's last look at the log
    finally:
        listener.close()

    assert view.status is BuildStatus.SUCCEEDED, f"{view.reason}\n{view.log_tail}"
    inspected = watcher.inspected
    assert inspected is not None, "the validation container was never seen running"
    host_config, config = inspected["HostConfig"], inspected["Config"]
    record = {
        "User": config["User"],
        "CapDrop": host_config["CapDrop"],
        "SecurityOpt": host_config["SecurityOpt"],
        "ReadonlyRootfs": host_config["ReadonlyRootfs"],
        "NetworkMode": host_config["NetworkMode"],
        "Memory": host_config["Memory"],
        "NanoCpus": host_config["NanoCpus"],
        "PidsLimit": host_config["PidsLimit"],
        "Privileged": host_config["Privileged"],
    }
    print("validation container:", json.dumps(record))  # the figures for docs/trust.md
    assert config["User"] not in ("", "0", "root", "0:0")
    assert host_config["CapDrop"] == ["ALL"]
    assert not host_config.get("CapAdd")
    assert "no-new-privileges" in host_config["SecurityOpt"]
    assert host_config["ReadonlyRootfs"] is True
    assert host_config["NetworkMode"] == "none"
    assert host_config["Privileged"] is False
    assert host_config["Memory"] > 0
    assert host_config["NanoCpus"] > 0
    assert host_config["PidsLimit"] > 0

    # The code ran at load, inside the container only, and everything it tried was contained.
    log = watcher.log
    assert f"{CANARY_MARK} {host_canary} refused" in log, log
    assert f"{CANARY_MARK} {root_canary} refused" in log
    assert "Read-only file system" in log
    assert f"{CANARY_MARK} {tmp_canary} written" in log  # its own tmpfs, gone with it
    assert f"{SOCKET_MARK} refused" in log
    assert listener.accepted == 0
    assert on_host(host_canary, root_canary, tmp_canary) == []
