"""Running deploy/docker-compose.yml + docker-compose.local.yml as an operator would, for the e2e
tier: the host-side preparation (wheelhouse, package mirror), `up --build -d` under a project
name of its own with free loopback ports, the gateway's health, and `down -v`.

Why free ports: the natively started services hold 5432, 5672, 9000, 5000 and 8000-8003, and
other engineers' runs may hold others; every published port is a variable of the compose file.
Compose itself runs through scripts/compose/compose.sh (v2 plugin or Debian's docker-compose
1.29, BuildKit through the engine's own client).

No pytest here: tests/e2e/test_compose_stack.py uses it.
"""

from __future__ import annotations

import asyncio
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from e2e_stack import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILES = ("deploy/docker-compose.yml", "deploy/docker-compose.local.yml")
PUBLISHED_PORTS = (
    "POSTGRES_PORT",
    "RABBITMQ_PORT",
    "RABBITMQ_MANAGEMENT_PORT",
    "MINIO_PORT",
    "MINIO_CONSOLE_PORT",
    "REGISTRY_PORT",
    "GATEWAY_PORT",
)
# Bounds that only stop a hung step (a cold build of every image takes ~3 min on 2 idle cores).
PREPARE_BOUND_SECONDS = 1200
UP_BOUND_SECONDS = 1800
HEALTH_BOUND_SECONDS = 300.0
DOWN_BOUND_SECONDS = 300


class ComposeError(RuntimeError):
    """A compose step failed; the message carries its output."""


def run(command: list[str], bound: float, cwd: Path = REPO_ROOT) -> str:
    try:
        result = subprocess.run(
            command, cwd=cwd, capture_output=True, text=True, timeout=bound, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise ComposeError(f"{' '.join(command)} took longer than {bound:g} s") from exc
    if result.returncode != 0:
        raise ComposeError(
            f"{' '.join(command)} exited with {result.returncode}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def prepare_wheelhouse() -> None:
    """The services' wheels from the committed tree (others' half-made edits stay out)."""
    run(["bash", "scripts/compose/wheelhouse.sh", "--from-git", "HEAD"], PREPARE_BOUND_SECONDS)


def mirror(requirements: list[str]) -> None:
    """What the onboarding resolver will ask the package mirror for."""
    script = str(REPO_ROOT / "scripts/compose/pypi_mirror.py")
    run([sys.executable, script, *requirements], PREPARE_BOUND_SECONDS)


@dataclass
class ComposeStack:
    """One project of the compose stack; `up` and `down` are the operator's commands."""

    work_dir: Path
    base_image: str
    project: str = field(default_factory=lambda: f"modelbay-e2e-{uuid.uuid4().hex[:8]}")
    admin_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    ports: dict[str, int] = field(default_factory=dict)
    up_seconds: float = 0.0
    env_file: Path | None = None

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['GATEWAY_PORT']}"

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.ports['REGISTRY_PORT']}"

    def _env_file(self) -> Path:
        self.ports = {name: free_port() for name in PUBLISHED_PORTS}
        lines = [f"{name}={port}" for name, port in self.ports.items()]
        lines.append(f"MODELBAY_ADMIN_TOKEN={self.admin_token}")
        # Shared by the services to authenticate internal calls, where the compose file asks.
        lines.append(f"MODELBAY_INTERNAL_SECRET={secrets.token_urlsafe(32)}")
        lines.append(f"MODELBAY_BASE_IMAGE={self.base_image}")
        path = self.work_dir / "compose.env"
        path.write_text("\n".join(lines) + "\n")
        return path

    def compose(self, *args: str, bound: float) -> str:
        if self.env_file is None:
            self.env_file = self._env_file()
        command = ["bash", "scripts/compose/compose.sh", "--env-file", str(self.env_file)]
        command += ["-p", self.project]
        for path in COMPOSE_FILES:
            command += ["-f", path]
        return run([*command, *args], bound)

    def up(self) -> None:
        """`up --build -d`; returns once compose has started everything (dependencies healthy)."""
        started = time.monotonic()
        self.compose("up", "--build", "-d", bound=UP_BOUND_SECONDS)
        self.up_seconds = time.monotonic() - started

    async def wait_gateway_ready(self) -> None:
        deadline = time.monotonic() + HEALTH_BOUND_SECONDS
        async with httpx.AsyncClient(timeout=5) as client:
            while True:
                try:
                    if (await client.get(self.gateway_url + "/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise ComposeError(f"the gateway never answered {self.gateway_url}/readyz")
                await asyncio.sleep(1)

    def logs(self, lines: int = 40) -> str:
        try:
            return self.compose("logs", "--no-color", "--tail", str(lines), bound=120)
        except ComposeError as exc:
            return str(exc)

    def down(self) -> None:
        """`down -v`: containers, network and volumes of this project only.

        When compose itself cannot (e.g. the compose file changed under a running test in a
        shared checkout and now needs a variable this run did not set), the project's objects
        are removed by the label compose puts on each, so nothing is left running either way."""
        try:
            self.compose("down", "-v", "--remove-orphans", bound=DOWN_BOUND_SECONDS)
        except ComposeError as exc:
            print(f"compose down failed, removing the project's objects by label: {exc}")
            remove_project_objects(self.project)


def remove_project_objects(project: str) -> None:
    """Containers, then volumes and networks, labelled with compose's project name."""
    label = f"label=com.docker.compose.project={project}"
    for kind, remove in (
        ("container", ["docker", "rm", "-f", "-v"]),
        ("volume", ["docker", "volume", "rm", "-f"]),
        ("network", ["docker", "network", "rm"]),
    ):
        ls = ["docker", "ps", "-aq"] if kind == "container" else ["docker", kind, "ls", "-q"]
        found = run([*ls, "--filter", label], bound=60).split()
        if found:
            run([*remove, *found], bound=DOWN_BOUND_SECONDS)
