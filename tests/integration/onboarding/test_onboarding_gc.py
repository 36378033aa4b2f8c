"""Onboarding's artifact garbage collection (`POST /internal/gc`, modelbay_onboarding/gc.py) on
real S3 (moto) and real Postgres: what a live version references survives, what only dead
versions (or nobody) reference goes, an object younger than the grace survives, a dry run
deletes nothing, and only an administrator may run it."""

from __future__ import annotations

import io
import uuid
from typing import Any

from modelbay_common.access import Caller, caller_headers
from modelbay_common.blob import BlobStore
from modelbay_common.blob.keys import (
    bundle_key,
    system_packages_key,
    wheelhouse_key,
    wheelhouse_libraries_key,
)
from modelbay_common.db import transaction
from modelbay_onboarding.orm import ResolutionRow, UploadRow
from onboarding_harness import Onboarding, OnboardingFactory

ADMIN = caller_headers(Caller(user="root", admin=True))

LIVE_BUNDLE, DEAD_BUNDLE, ORPHAN_BUNDLE = "a" * 64, "b" * 64, "c" * 64
MIRRORED_BUNDLE = "d" * 64  # no upload here: only the catalog's live references keep it
SHARED_LOCK, DEAD_LOCK = "1" * 64, "2" * 64
LIVE_DEBS, DEAD_DEBS = "e" * 64, "f" * 64


async def _put(blobs: BlobStore, key: str, size: int) -> None:
    await blobs.put(key, io.BytesIO(b"x" * size))


async def _record(
    onboarding: Onboarding, name: str, version: int, bundle: str, lock: str, debs: str
) -> None:
    async with transaction(onboarding.service.sessions) as session:
        session.add(
            UploadRow(
                id=uuid.uuid4(),
                owner="alice",
                name=name,
                version=version,
                bundle_key=bundle_key(bundle),
                bundle_sha256=bundle,
                bundle_size=10,
                python_version="3.11",
                requirements=[],
                methods=["predict"],
                uploaded_by="alice",
            )
        )
        session.add(
            ResolutionRow(
                owner="alice",
                name=name,
                version=version,
                status="resolved",
                lock_hash=lock,
                details={"system_packages_uri": system_packages_key(debs)},
            )
        )


async def _world(onboarding: Onboarding) -> None:
    """alice/live:1 is live; alice/dead:1 failed and shares the live version's lock (its
    wheelhouse stays); alice/dead:2 failed alone with its own lock and `.deb` archive."""
    blobs = onboarding.service.blob_store
    await _record(onboarding, "live", 1, LIVE_BUNDLE, SHARED_LOCK, LIVE_DEBS)
    await _record(onboarding, "dead", 1, DEAD_BUNDLE, SHARED_LOCK, LIVE_DEBS)
    await _record(onboarding, "dead", 2, DEAD_BUNDLE, DEAD_LOCK, DEAD_DEBS)
    for sha, size in ((LIVE_BUNDLE, 11), (DEAD_BUNDLE, 12), (ORPHAN_BUNDLE, 13)):
        await _put(blobs, bundle_key(sha), size)
    await _put(blobs, bundle_key(MIRRORED_BUNDLE), 14)
    for lock, size in ((SHARED_LOCK, 21), (DEAD_LOCK, 22)):
        await _put(blobs, wheelhouse_key(lock), size)
        await _put(blobs, wheelhouse_libraries_key(lock), 3)
    for debs, size in ((LIVE_DEBS, 31), (DEAD_DEBS, 32)):
        await _put(blobs, system_packages_key(debs), size)


def _request(*, dry_run: bool, grace_seconds: int = 0) -> dict[str, Any]:
    return {
        "dead": [
            {"owner": "alice", "name": "dead", "version": 1, "reason": "failed"},
            {"owner": "alice", "name": "dead", "version": 2, "reason": "model-deleted"},
        ],
        "live_bundle_sha256": [MIRRORED_BUNDLE],
        "live_lock_hashes": [],
        "dry_run": dry_run,
        "grace_seconds": grace_seconds,
    }


RECLAIMABLE = {
    ("bundle", bundle_key(DEAD_BUNDLE), 12),
    ("bundle", bundle_key(ORPHAN_BUNDLE), 13),
    ("wheelhouse", wheelhouse_key(DEAD_LOCK), 22),
    ("system-libraries", wheelhouse_libraries_key(DEAD_LOCK), 3),
    ("system-packages", system_packages_key(DEAD_DEBS), 32),
}
SURVIVORS = {
    bundle_key(LIVE_BUNDLE),
    bundle_key(MIRRORED_BUNDLE),
    wheelhouse_key(SHARED_LOCK),
    wheelhouse_libraries_key(SHARED_LOCK),
    system_packages_key(LIVE_DEBS),
}


def _reclaimed(answer: dict[str, Any]) -> set[tuple[str, str, int]]:
    return {(item["kind"], item["key"], item["size"]) for item in answer["reclaimed"]}


async def test_dry_run_reports_then_the_sweep_reclaims_only_dead_artifacts(
    onboarding_factory: OnboardingFactory,
) -> None:
    onboarding = await onboarding_factory()
    await _world(onboarding)
    everything = set(onboarding.list_objects())

    dry = await onboarding.client.post("/internal/gc", json=_request(dry_run=True), headers=ADMIN)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True
    assert _reclaimed(dry.json()) == RECLAIMABLE
    assert set(onboarding.list_objects()) == everything  # a dry run deletes nothing

    swept = await onboarding.client.post(
        "/internal/gc", json=_request(dry_run=False), headers=ADMIN
    )
    assert swept.status_code == 200, swept.text
    assert _reclaimed(swept.json()) == RECLAIMABLE
    assert swept.json()["errors"] == []
    assert set(onboarding.list_objects()) == SURVIVORS

    again = await onboarding.client.post(
        "/internal/gc", json=_request(dry_run=False), headers=ADMIN
    )
    assert again.json()["reclaimed"] == []  # idempotent


async def test_an_object_younger_than_the_grace_survives(
    onboarding_factory: OnboardingFactory,
) -> None:
    onboarding = await onboarding_factory()
    await _world(onboarding)
    everything = set(onboarding.list_objects())
    answer = await onboarding.client.post(
        "/internal/gc", json=_request(dry_run=False, grace_seconds=3600), headers=ADMIN
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["reclaimed"] == []
    assert answer.json()["kept_young"] == len(RECLAIMABLE)
    assert set(onboarding.list_objects()) == everything


async def test_a_resolution_without_a_recorded_deb_archive_keeps_every_deb_archive(
    onboarding_factory: OnboardingFactory,
) -> None:
    onboarding = await onboarding_factory()
    await _world(onboarding)
    async with transaction(onboarding.service.sessions) as session:
        session.add(
            ResolutionRow(owner="bob", name="old", version=1, status="resolved", lock_hash="9" * 64)
        )
    answer = await onboarding.client.post(
        "/internal/gc", json=_request(dry_run=False), headers=ADMIN
    )
    assert answer.status_code == 200, answer.text
    kinds = {item["kind"] for item in answer.json()["reclaimed"]}
    assert "system-packages" not in kinds
    assert system_packages_key(DEAD_DEBS) in onboarding.list_objects()


async def test_only_an_administrator_may_collect_and_bad_bodies_are_problems(
    onboarding_factory: OnboardingFactory,
) -> None:
    onboarding = await onboarding_factory()
    user = caller_headers(Caller(user="alice"))
    refused = await onboarding.client.post(
        "/internal/gc", json=_request(dry_run=True), headers=user
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "administrator" in refused.json()["detail"]

    bad = await onboarding.client.post(
        "/internal/gc", json={**_request(dry_run=True), "grace_seconds": -1}, headers=ADMIN
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
