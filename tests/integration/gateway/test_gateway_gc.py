"""`POST /v1/admin/gc` and `modelbay admin gc [--dry-run]` through the whole conduct: the real
catalog's marks (a deleted model's and a failed version's artifacts are dead), onboarding's sweep
of the blob store (filesystem here; S3 in test_onboarding_gc.py) and the builder's internal app
deleting manifests in a PRIVATE token registry; audited, counted, administrators only."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from gateway_bundle import make_archive
from gateway_curation import assert_problem, pushed_version, ready_version
from gateway_services import in_process_services
from gateway_stack import ADMIN_TOKEN, Stack
from modelbay.cli import build_app
from modelbay_builder.api import create_app as create_builder_app
from modelbay_builder.gc import ImageCollector, RegistryTarget
from modelbay_builder.orm import BuildRow
from modelbay_builder.registry import RegistryCredentials
from modelbay_common.blob import open_blob_store
from modelbay_common.blob.keys import bundle_key, wheelhouse_key
from modelbay_common.db import create_engine, session_factory, transaction
from modelbay_common.events import DependencyResolutionFailed, envelope
from modelbay_common.migrations import upgrade
from registry_images import manifest_status, push_tiny_image
from registry_keys import make_registry_keys
from token_registry import TokenRegistry, running_token_registry
from typer.testing import CliRunner

UNUSED_REALM = "http://127.0.0.1:9/token"


class _NoExports:
    """The builder app's image exporter, never called by the GC route."""

    def prepare(self, image_ref: str) -> None:
        raise AssertionError("not used")


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("gc-registry")
    keys = make_registry_keys(root / "keys")
    with running_token_registry(root / "registry", UNUSED_REALM, keys) as registry:
        yield registry, keys.issuer()


@pytest.fixture(scope="module")
async def gc_stack(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory, private_registry: Any
) -> AsyncIterator[Stack]:
    registry, tokens = private_registry
    await upgrade("builder", module_database_url)
    engine = create_engine(module_database_url)
    collector = ImageCollector(RegistryTarget(registry.address, True, RegistryCredentials(tokens)))
    builder_app = create_builder_app(
        session_factory(engine), _NoExports(), lambda: None, None, image_gc=collector
    )  # type: ignore[arg-type]
    blob_dir = tmp_path_factory.mktemp("gc-blobs")
    gateway = {"gc_grace_seconds": 0, "gc_interval_seconds": 0}
    try:
        async with in_process_services(
            module_database_url, blob_dir, gateway=gateway, builder_app=builder_app
        ) as services:
            yield services.stack
    finally:
        await engine.dispose()


async def _built(stack: Stack, owner: str, name: str, version: int, digest: str) -> None:
    """The builder's record of the image it pushed for this version, two days ago."""
    engine = create_engine(stack.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            session.add(
                BuildRow(
                    id=uuid.uuid4(),
                    owner=owner,
                    name=name,
                    version=version,
                    request={},
                    lock_hash="0" * 64,
                    status="succeeded",
                    image_digest=digest,
                    finished_at=datetime.now(tz=UTC) - timedelta(days=2),
                )
            )
    finally:
        await engine.dispose()


async def _pushed(stack: Stack, token: str, name: str, tmp_path: Path) -> str:
    """alice/<name>:1 pushed and ready; its bundle sha256 (also its lock hash, as make_ready
    sends it), with a wheelhouse stored under that lock."""
    archive = make_archive(tmp_path / name, name).read_bytes()
    version = await pushed_version(stack, token, "alice", name, archive)
    detail = await stack.wait_for_version(token, "alice", name, version)
    await ready_version(stack, token, "alice", name, version)
    sha = str(detail["bundle"]["sha256"])
    blobs = open_blob_store(stack.blob_dir.as_uri())
    await blobs.put(wheelhouse_key(sha), io.BytesIO(b"wheels of " + name.encode()))
    return sha


def _blob_exists(stack: Stack, key: str) -> bool:
    return (stack.blob_dir / "objects" / key).exists()


async def _cli(stack: Stack, args: list[str]) -> Any:
    """The CLI against the gateway on a real socket (uvicorn in this loop, the CLI in a thread)."""
    config = uvicorn.Config(stack.gateway_app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    for _ in range(600):
        if server.started:
            break
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    full = [*args, "--url", f"http://127.0.0.1:{port}", "--token", ADMIN_TOKEN]
    try:
        return await asyncio.to_thread(CliRunner().invoke, build_app(), full)
    finally:
        server.should_exit = True
        await serving


async def test_admin_gc_reclaims_dead_versions_artifacts_and_keeps_live_ones(
    gc_stack: Stack, private_registry: tuple[TokenRegistry, Any], tmp_path: Path
) -> None:
    stack = gc_stack
    registry, tokens = private_registry
    alice = await stack.new_user("alice")
    keep_sha = await _pushed(stack, alice, "keep", tmp_path)
    gone_sha = await _pushed(stack, alice, "gone", tmp_path)
    keep_digest = push_tiny_image(registry.address, tokens, "alice/keep", "1", b"keep " * 99)
    gone_digest = push_tiny_image(registry.address, tokens, "alice/gone", "1", b"gone " * 99)
    await _built(stack, "alice", "keep", 1, keep_digest)
    await _built(stack, "alice", "gone", 1, gone_digest)
    # A failed second version of the live model: its own bundle is dead too.
    failed_archive = make_archive(tmp_path / "keep2", "keep").read_bytes()
    failed = await pushed_version(stack, alice, "alice", "keep", failed_archive)
    failed_sha = (await stack.wait_for_version(alice, "alice", "keep", failed))["bundle"]["sha256"]
    await stack.bus.publish(
        envelope(
            DependencyResolutionFailed(
                owner="alice", name="keep", version=failed, reason="no such package", detail=""
            ),
            source="/modelbay/tests",
        )
    )
    await stack.bus.drain()
    async with stack.client(alice) as client:
        assert (await client.delete("/v1/models/alice/gone")).status_code in (200, 204)
        # Only an administrator may run the collector.
        assert_problem(
            await client.post("/v1/admin/gc", params={"dry_run": "true"}), 403, "admin-required"
        )

    dry = await _cli(stack, ["admin", "gc", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.output)
    assert planned["dry_run"] is True
    keys = {item["key"] for report in planned["reports"] for item in report["reclaimed"]}
    assert keys == {
        bundle_key(gone_sha),
        bundle_key(failed_sha),
        wheelhouse_key(gone_sha),
        f"alice/gone@{gone_digest}",
    }
    assert planned["by_kind"]["image"]["objects"] == 1
    assert _blob_exists(stack, bundle_key(gone_sha))  # the dry run deleted nothing
    assert manifest_status(registry.address, tokens, "alice/gone", gone_digest) == 200

    swept = await _cli(stack, ["admin", "gc"])
    assert swept.exit_code == 0, swept.output
    assert "reclaimed" in swept.output
    assert "alice/gone@" in swept.output
    assert not _blob_exists(stack, bundle_key(gone_sha))
    assert not _blob_exists(stack, bundle_key(failed_sha))
    assert not _blob_exists(stack, wheelhouse_key(gone_sha))
    assert manifest_status(registry.address, tokens, "alice/gone", gone_digest) == 404
    # The live version's bundle, wheelhouse and image survive.
    assert _blob_exists(stack, bundle_key(keep_sha))
    assert _blob_exists(stack, wheelhouse_key(keep_sha))
    assert manifest_status(registry.address, tokens, "alice/keep", keep_digest) == 200

    async with stack.client(ADMIN_TOKEN) as admin:
        audit = await admin.get("/v1/admin/audit", params={"action": "admin.gc"})
        assert audit.status_code == 200, audit.text
        actions = [entry["action"] for entry in audit.json()["entries"]]
        assert "admin.gc" in actions
        again = await admin.post("/v1/admin/gc")
        assert again.status_code == 200, again.text
        assert again.json()["bytes_reclaimed"] == 0
        bad = await admin.post("/v1/admin/gc", params={"dry_run": "maybe"})
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")


async def test_the_schedule_runs_the_collector_and_audits_it(
    fresh_database_url: str, tmp_path: Path, private_registry: Any
) -> None:
    """`MODELBAY_GATEWAY_GC_INTERVAL_SECONDS`: the gateway's worker runs the sweep on its own,
    as the `modelbay-gc` administrator, audited with `trigger: schedule`."""
    registry, tokens = private_registry
    await upgrade("builder", fresh_database_url)
    engine = create_engine(fresh_database_url)
    collector = ImageCollector(RegistryTarget(registry.address, True, RegistryCredentials(tokens)))
    builder_app = create_builder_app(
        session_factory(engine), _NoExports(), lambda: None, None, image_gc=collector
    )  # type: ignore[arg-type]
    gateway = {"gc_grace_seconds": 0, "gc_interval_seconds": 0.2}
    try:
        async with in_process_services(
            fresh_database_url, tmp_path / "blobs", gateway=gateway, builder_app=builder_app
        ) as services:
            stack = services.stack
            orphan = bundle_key("e" * 64)  # no version names it: garbage once past the grace
            await open_blob_store(stack.blob_dir.as_uri()).put(orphan, io.BytesIO(b"orphan"))
            async with stack.client(ADMIN_TOKEN) as admin:
                for _ in range(200):
                    audit = await admin.get("/v1/admin/audit", params={"action": "admin.gc"})
                    entries = audit.json()["entries"]
                    if entries:
                        break
                    await asyncio.sleep(0.05)
            assert entries, "the schedule never ran"
            assert entries[-1]["actor"] == "modelbay-gc"
            assert entries[-1]["details"]["trigger"] == "schedule"
            for _ in range(200):  # the first run may have listed before the orphan was stored
                if not _blob_exists(stack, orphan):
                    break
                await asyncio.sleep(0.05)
            assert not _blob_exists(stack, orphan)
    finally:
        await engine.dispose()
