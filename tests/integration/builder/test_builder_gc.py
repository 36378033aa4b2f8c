"""The builder's artifact garbage collection (modelbay_builder/gc.py) against a PRIVATE
token-auth registry (tests/support/token_registry.py; never the shared one) and real Postgres:
a dead version's manifest is deleted by digest, a live version's stays (also when a dead one
shares its digest), a build younger than the grace stays, a dry run deletes nothing; then the
registry's own `docker-registry garbage-collect`, run while the registry is stopped, frees the
dead image's layer bytes."""

from __future__ import annotations

import contextlib
import io
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from docker import errors as docker_errors
from modelbay_builder.docker_client import DockerConnection
from modelbay_builder.gc import ImageCollector, RegistryTarget
from modelbay_builder.orm import BuildRow
from modelbay_builder.registry import RegistryCredentials
from modelbay_common.contracts.gc import DeadVersion, GcRequest
from modelbay_common.db import create_engine, session_factory, transaction
from modelbay_common.migrations import upgrade
from modelbay_common.registry_auth import DELETE, PULL, repository_access
from registry_images import blob_digest, manifest_status, push_tiny_image
from registry_keys import RegistryKeys, make_registry_keys
from token_registry import TokenRegistry, running_token_registry

UNUSED_REALM = "http://127.0.0.1:9/token"
REGISTRY_GC = (
    Path(__file__).resolve().parents[3] / "scripts" / "registry-gc.sh"
)  # the builder mints its own tokens: no realm trip


@pytest.fixture
def registry_side(tmp_path: Path) -> Iterator[tuple[TokenRegistry, RegistryKeys, Path]]:
    keys = make_registry_keys(tmp_path / "keys")
    directory = tmp_path / "registry"
    with running_token_registry(directory, UNUSED_REALM, keys) as registry:
        yield registry, keys, directory


def _build(owner: str, name: str, version: int, digest: str, finished: datetime) -> BuildRow:
    return BuildRow(
        id=uuid.uuid4(),
        owner=owner,
        name=name,
        version=version,
        request={},
        lock_hash="0" * 64,
        status="succeeded",
        image_ref=f"registry/{owner}/{name}:{version}",
        image_digest=digest,
        finished_at=finished,
    )


async def test_dead_versions_manifests_go_live_and_young_ones_stay(
    registry_side: tuple[TokenRegistry, RegistryKeys, Path], fresh_database_url: str
) -> None:
    registry, keys, _directory = registry_side
    tokens = keys.issuer()
    address = registry.address
    live = push_tiny_image(address, tokens, "alice/live", "1", b"live layer " * 100)
    dead = push_tiny_image(address, tokens, "alice/dead", "1", b"dead layer " * 100)
    young = push_tiny_image(address, tokens, "alice/young", "1", b"young layer " * 100)
    shared = push_tiny_image(address, tokens, "alice/shared", "1", b"shared layer " * 100)

    await upgrade("builder", fresh_database_url)
    engine = create_engine(fresh_database_url)
    sessions = session_factory(engine)
    now = datetime.now(tz=UTC)
    old = now - timedelta(days=2)
    async with transaction(sessions) as session:
        session.add_all(
            [
                _build("alice", "live", 1, live, old),
                _build("alice", "dead", 1, dead, old),
                _build("alice", "young", 1, young, now),
                # Two versions, one image: the dead one must not take the live one's image.
                _build("alice", "shared", 1, shared, old),
                _build("alice", "shared", 2, shared, old),
            ]
        )
    dead_versions = [
        DeadVersion(owner="alice", name="dead", version=1, reason="failed"),
        DeadVersion(owner="alice", name="young", version=1, reason="model-deleted"),
        DeadVersion(owner="alice", name="shared", version=1, reason="failed"),
    ]
    collector = ImageCollector(RegistryTarget(address, True, RegistryCredentials(tokens)))
    try:
        async with transaction(sessions) as session:
            dry = await collector.collect(
                session,
                GcRequest(dead=dead_versions, dry_run=True, grace_seconds=86400),
                now=now,
            )
        assert [item.key for item in dry.reclaimed] == [f"alice/dead@{dead}"]
        assert dry.reclaimed[0].kind == "image"
        assert dry.reclaimed[0].size > len(b"dead layer " * 100)  # layer plus config
        assert dry.kept_young == 1
        assert manifest_status(address, tokens, "alice/dead", dead) == 200  # dry: still there

        async with transaction(sessions) as session:
            swept = await collector.collect(
                session,
                GcRequest(dead=dead_versions, dry_run=False, grace_seconds=86400),
                now=now,
            )
        assert [item.key for item in swept.reclaimed] == [f"alice/dead@{dead}"]
        assert swept.errors == []
        assert manifest_status(address, tokens, "alice/dead", dead) == 404
        assert manifest_status(address, tokens, "alice/live", live) == 200
        assert manifest_status(address, tokens, "alice/young", young) == 200
        assert manifest_status(address, tokens, "alice/shared", shared) == 200

        async with transaction(sessions) as session:
            again = await collector.collect(
                session,
                GcRequest(dead=dead_versions, dry_run=False, grace_seconds=86400),
                now=now,
            )
        assert again.reclaimed == []  # already gone: skipped, not an error
    finally:
        await engine.dispose()


def test_registry_garbage_collect_frees_the_unlinked_layers(tmp_path: Path) -> None:
    """The documented procedure's second half, `scripts/registry-gc.sh`: refused while the
    registry runs; once it is stopped, the layers no manifest references any more are gone and
    the live image is whole when the registry comes back."""
    keys = make_registry_keys(tmp_path / "keys")
    tokens = keys.issuer()
    directory = tmp_path / "registry"
    dead_layer = b"layer of a deleted model " * 50
    kept_layer = b"kept layer " * 50
    config = directory / "registry.yml"
    with running_token_registry(directory, UNUSED_REALM, keys) as registry:
        dead = push_tiny_image(registry.address, tokens, "bob/gone", "1", dead_layer)
        kept = push_tiny_image(registry.address, tokens, "bob/kept", "1", kept_layer)
        token = tokens.mint("test", [repository_access("bob/gone", PULL, DELETE)]).token
        deleted = httpx.delete(
            f"http://{registry.address}/v2/bob/gone/manifests/{dead}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert deleted.status_code == 202, deleted.text
        refused = _registry_gc(config, registry.address)
        assert refused.returncode == 1
        assert "running" in refused.stderr
        address = registry.address
    blobs = directory / "storage" / "docker" / "registry" / "v2" / "blobs" / "sha256"
    dead_hex = blob_digest(dead_layer).removeprefix("sha256:")
    kept_hex = blob_digest(kept_layer).removeprefix("sha256:")
    assert (blobs / dead_hex[:2] / dead_hex).exists()

    collected = _registry_gc(config, address)
    assert collected.returncode == 0, collected.stderr
    assert not (blobs / dead_hex[:2] / dead_hex).exists()
    assert (blobs / kept_hex[:2] / kept_hex).exists()
    with running_token_registry(directory, UNUSED_REALM, keys) as registry:
        assert manifest_status(registry.address, tokens, "bob/kept", kept) == 200


def _registry_gc(config: Path, address: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REGISTRY_GC), str(config), address],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _engine_image(docker_client: Any, tag: str) -> None:
    """A tiny image (one empty layer, imported: no pull, no build) under `tag` in the engine."""
    repository, _, version = tag.rpartition(":")
    empty = io.BytesIO()
    with tarfile.open(fileobj=empty, mode="w"):
        pass
    docker_client.api.import_image_from_data(empty.getvalue(), repository=repository, tag=version)


async def test_the_engine_copies_of_dead_images_are_untagged(
    services: Any, docker_client: Any, fresh_database_url: str
) -> None:
    """The builder keeps each image it built in its engine; a dead version's copy goes, a live
    one's stays (real Docker: the shared engine, tags unique to this test)."""
    unique = uuid.uuid4().hex[:10]
    dead_tag = f"127.0.0.1:5999/gc-{unique}/dead:1"
    live_tag = f"127.0.0.1:5999/gc-{unique}/live:1"
    for tag in (dead_tag, live_tag):
        _engine_image(docker_client, tag)
    await upgrade("builder", fresh_database_url)
    engine = create_engine(fresh_database_url)
    sessions = session_factory(engine)
    old = datetime.now(tz=UTC) - timedelta(days=2)
    dead_build = _build(f"gc-{unique}", "dead", 1, "sha256:" + "1" * 64, old)
    dead_build.image_ref = dead_tag
    live_build = _build(f"gc-{unique}", "live", 1, "sha256:" + "2" * 64, old)
    live_build.image_ref = live_tag
    async with transaction(sessions) as session:
        session.add_all([dead_build, live_build])
    dead = [DeadVersion(owner=f"gc-{unique}", name="dead", version=1, reason="failed")]
    docker = DockerConnection(services.docker_host, 60)  # the engine `docker_client` talks to
    # No registry answers on this port: the manifest step reports an error, the engine step runs.
    target = RegistryTarget("127.0.0.1:9", True, RegistryCredentials(None))
    collector = ImageCollector(target, docker)
    try:
        async with transaction(sessions) as session:
            dry = await collector.collect(
                session, GcRequest(dead=dead, dry_run=True, grace_seconds=0), now=datetime.now(UTC)
            )
        assert [(i.kind, i.key) for i in dry.reclaimed] == [("engine-image", dead_tag)]
        docker_client.images.get(dead_tag)  # still there after the dry run

        async with transaction(sessions) as session:
            swept = await collector.collect(
                session, GcRequest(dead=dead, dry_run=False, grace_seconds=0), now=datetime.now(UTC)
            )
        assert [(i.kind, i.key) for i in swept.reclaimed] == [("engine-image", dead_tag)]
        with pytest.raises(docker_errors.ImageNotFound):
            docker_client.images.get(dead_tag)
        docker_client.images.get(live_tag)
    finally:
        for tag in (dead_tag, live_tag):
            with contextlib.suppress(docker_errors.DockerException):
                docker_client.images.remove(tag)
        docker.close()
        await engine.dispose()
