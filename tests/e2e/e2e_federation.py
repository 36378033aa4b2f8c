"""Two Modelbay instances on this machine for the federation test (tests/e2e/test_federation.py).

Each instance is a whole stack of `e2e_stack.py` (its own database, RabbitMQ vhost, S3 prefix,
signing key directory) plus a registry of its own: a private Distribution registry behind token
auth (`tests/support/token_registry.py`) on another port, with its own token key pair, whose
realm is the instance's gateway (its port is chosen before the registry starts). One Docker
engine serves both builders. Instance B's periodic sync is off: the test syncs with the admin's
"sync now", so what B has seen is exactly what the test made it see.

No pytest here, like `e2e_stack.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e_client import MAX_UPLOAD_BYTES, Gateway, explain
from e2e_stack import Backends, Stack, StackOptions, free_port, start_stack, stop_stack
from registry_keys import RegistryKeys, make_registry_keys
from token_registry import TokenRegistry, running_token_registry

MIRROR_BOUND_SECONDS = 300.0  # only stops a hung mirror (copying ~200 MB on a busy machine)


@dataclass
class Instance:
    """One running Modelbay instance with its own registry."""

    name: str
    stack: Stack
    registry: TokenRegistry
    registry_keys: RegistryKeys
    registry_dir: Path

    @property
    def gateway_url(self) -> str:
        return self.stack.gateway_url

    def admin(self) -> Gateway:
        return Gateway(self.gateway_url, self.stack.admin_token, self.stack.admin_username)

    def manifest_blob(self, digest: str) -> Path:
        """Where the registry's filesystem driver keeps the bytes of `digest`."""
        hex_digest = digest.removeprefix("sha256:")
        return (
            self.registry_dir
            / "storage/docker/registry/v2/blobs/sha256"
            / hex_digest[:2]
            / hex_digest
            / "data"
        )


@contextlib.asynccontextmanager
async def running_instance(
    backends: Backends, work_dir: Path, name: str, extra_env: Mapping[str, str] | None = None
) -> AsyncIterator[Instance]:
    keys = make_registry_keys(work_dir / "registry-keys")
    gateway_port = free_port()
    realm = f"http://127.0.0.1:{gateway_port}/v1/registry/token"
    registry_dir = work_dir / "registry"
    with running_token_registry(registry_dir, realm, keys) as registry:
        own = dataclasses.replace(
            backends, registry=registry.address, registry_token_key_file=str(keys.key_file)
        )
        options = StackOptions(
            max_upload_bytes=MAX_UPLOAD_BYTES,
            ports={"gateway": gateway_port},
            extra_env=dict(extra_env or {}),
        )
        stack = await start_stack(own, work_dir / "stack", options)
        try:
            yield Instance(name, stack, registry, keys, registry_dir)
        finally:
            await stop_stack(stack)


def tamper_with_manifest(instance: Instance, digest: str) -> None:
    """What an attacker with write access to the registry's storage does: change the bytes the
    digest (and so the platform's signature) covers. Still valid JSON, another SHA-256."""
    path = instance.manifest_blob(digest)
    content = path.read_bytes()
    assert content.startswith(b"{"), content[:40]
    path.write_bytes(b"{ " + content[1:])


async def sync_now(admin: Gateway, peer: str) -> dict[str, Any]:
    response = await admin.http.post(f"/v1/admin/peers/{peer}/sync")
    assert response.status_code == 200, explain(response)
    outcome: dict[str, Any] = response.json()
    assert outcome["error"] is None, outcome
    return outcome


async def mirrored_version(
    gateway: Gateway, owner: str, name: str, version: int, bound: float = MIRROR_BOUND_SECONDS
) -> dict[str, Any]:
    """The version's detail on B once its mirror ended (`ready`, or its origin state `failed`);
    the last detail seen when the bound passes, so the assertion shows where it stopped."""
    deadline = time.monotonic() + bound
    detail: dict[str, Any] = {}
    while time.monotonic() < deadline:
        response = await gateway.version(owner, name, version)
        if response.status_code == 200:
            detail = response.json()
            state = (detail.get("origin") or {}).get("state")
            if detail.get("status") in ("ready", "failed") or state in ("ready", "failed"):
                return detail
        await asyncio.sleep(1.0)
    return detail


async def peer_status(admin: Gateway, peer: str) -> dict[str, Any]:
    response = await admin.http.get(f"/v1/admin/peers/{peer}")
    assert response.status_code == 200, explain(response)
    found: dict[str, Any] = response.json()
    return found


async def wait_for_mirror_failure(
    admin: Gateway, peer: str, bound: float = MIRROR_BOUND_SECONDS
) -> dict[str, Any]:
    """The peer as B's admin sees it once a mirror of it failed."""
    deadline = time.monotonic() + bound
    status = await peer_status(admin, peer)
    while time.monotonic() < deadline and not status["mirrors"]["failed"]:
        await asyncio.sleep(1.0)
        status = await peer_status(admin, peer)
    return status
