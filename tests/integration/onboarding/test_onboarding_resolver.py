"""The resolver against the real package index, Postgres and S3: the iris model gets a lock and
a wheelhouse; a second model with the same requirements reuses both; an unsatisfiable pin
ends in DependencyResolutionFailed with pip's reason in a contributor's words.

These tests download real wheels (numpy, scipy, scikit-learn, the model server's deps) from
PyPI into pip's cache; later runs reuse the cache.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from modelbay_common.events import (
    DependenciesResolved,
    DependencyResolutionFailed,
    DependencyResolutionStarted,
)
from onboarding_bundles import archive, edit_manifest
from onboarding_harness import OnboardingFactory
from onboarding_iris import make_iris_bundle_dir


def _iris_archive(tmp_path: Path, name: str) -> bytes:
    bundle = make_iris_bundle_dir(tmp_path / name, name)
    return archive(bundle, tmp_path / f"{name}.tar.gz").read_bytes()


async def test_iris_gets_a_lock_and_a_wheelhouse_that_a_second_model_reuses(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory(resolver_enabled=True)
    first = await onboarding.upload("alice/iris", _iris_archive(tmp_path, "iris"))
    assert first.status_code == 202, first.text

    resolved = (await onboarding.wait_for(DependenciesResolved.type, "alice/iris/1")).event_as(
        DependenciesResolved
    )
    started = await onboarding.wait_for(DependencyResolutionStarted.type, "alice/iris/1")
    assert onboarding.events.index(started) < onboarding.events.index(
        await onboarding.wait_for(DependenciesResolved.type, "alice/iris/1")
    )
    names = {pin.split("==")[0] for pin in resolved.lock}
    # The bundle's own requirements, their dependencies and the model server's.
    assert {"numpy", "scikit-learn", "scipy", "joblib", "threadpoolctl"} <= names
    assert {"uvicorn", "protobuf", "cloudpickle", "prometheus-client", "httptools"} <= names
    assert list(resolved.lock) == sorted(resolved.lock)
    assert resolved.python_version == "3.11"
    assert resolved.wheelhouse_uri == f"wheelhouses/{resolved.lock_hash}.tar"
    assert resolved.wheelhouse_reused is False

    wheelhouse = await onboarding.service.blob_store.get_bytes(
        resolved.wheelhouse_uri, max_bytes=1 << 30
    )
    with tarfile.open(fileobj=io.BytesIO(wheelhouse)) as tar:
        members = tar.getnames()
        lock_file = tar.extractfile("requirements.lock.txt")
        assert lock_file is not None
        pinned = [line for line in lock_file.read().decode().splitlines() if "==" in line]
    assert pinned == list(resolved.lock)
    assert len([m for m in members if m.endswith(".whl")]) == len(resolved.lock)

    # Another model, same requirements: the cached lock and the stored wheelhouse are reused.
    second = await onboarding.upload("bob/flowers", _iris_archive(tmp_path, "flowers"))
    assert second.status_code == 202, second.text
    reused = (await onboarding.wait_for(DependenciesResolved.type, "bob/flowers/1")).event_as(
        DependenciesResolved
    )
    assert reused.lock_hash == resolved.lock_hash
    assert reused.lock == resolved.lock
    assert reused.wheelhouse_reused is True
    assert reused.wheelhouse_uri == resolved.wheelhouse_uri
    assert [o for o in onboarding.list_objects() if o.startswith("wheelhouses/")] == [
        resolved.wheelhouse_uri
    ]
    assert await onboarding.rows("SELECT count(*) FROM onboarding.requirement_locks") == [(1,)]
    outcomes = await onboarding.rows(
        "SELECT owner, status, wheelhouse_reused FROM onboarding.resolutions ORDER BY owner"
    )
    assert outcomes == [("alice", "resolved", False), ("bob", "resolved", True)]


async def test_an_unsatisfiable_requirement_fails_with_pips_reason(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory(resolver_enabled=True)
    bundle = make_iris_bundle_dir(tmp_path / "iris")
    edit_manifest(bundle, lambda m: m.__setitem__("requirements", ["numpy", "scikit-learn==99.0"]))
    response = await onboarding.upload(
        "alice/iris", archive(bundle, tmp_path / "iris.tar.gz").read_bytes()
    )
    assert response.status_code == 202, response.text

    failed = (await onboarding.wait_for(DependencyResolutionFailed.type, "alice/iris/1")).event_as(
        DependencyResolutionFailed
    )
    assert failed.reason.startswith("No version of 'scikit-learn==99.0' exists on the index")
    assert "available" in failed.reason
    assert failed.reason.endswith("fix the pin or exclude it")
    assert "No matching distribution found for scikit-learn==99.0" in failed.detail
    assert not [o for o in onboarding.list_objects() if o.startswith("wheelhouses/")]
    [(status, reason)] = await onboarding.rows("SELECT status, reason FROM onboarding.resolutions")
    assert status == "failed"
    assert reason == failed.reason
