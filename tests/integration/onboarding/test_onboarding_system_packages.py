"""System libraries found, not guessed, against the real index, Debian mirror, Postgres and S3.

A model whose lock has LightGBM gets `libgomp1` (and the `gcc-12-base` its version pins) from
the ELF scan of the wheels, fetched from Debian into a content-addressed archive; the same
push with the table entry removed and no Contents look-up fails naming the library. The
Debian suite's index and `.deb` files are cached in ~/.cache/modelbay/debian across runs.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from modelbay_common.blob.keys import wheelhouse_libraries_key
from modelbay_common.events import DependenciesResolved, DependencyResolutionFailed
from onboarding_bundles import archive, edit_manifest
from onboarding_harness import OnboardingFactory
from onboarding_iris import make_iris_bundle_dir


def _needs_lightgbm(tmp_path: Path, name: str, declared: list[str] | None = None) -> bytes:
    bundle = make_iris_bundle_dir(tmp_path / name, name)

    def change(manifest: dict[str, object]) -> None:
        requirements = manifest["requirements"]
        assert isinstance(requirements, list)
        manifest["requirements"] = [*requirements, "lightgbm"]
        if declared:
            manifest["system_packages"] = declared

    edit_manifest(bundle, change)
    return archive(bundle, tmp_path / f"{name}.tar.gz").read_bytes()


async def test_lightgbm_needs_libgomp1_which_is_fetched_and_declared_packages_join(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory(resolver_enabled=True)
    upload = await onboarding.upload(
        "alice/lgbm", _needs_lightgbm(tmp_path, "lgbm", declared=["libsndfile1"])
    )
    assert upload.status_code == 202, upload.text
    envelope = await onboarding.wait_for(DependenciesResolved.type, "alice/lgbm/1")
    resolved = envelope.event_as(DependenciesResolved)
    packages = {p.name: p for p in resolved.system_packages}
    assert packages["libgomp1"].reasons == ("libgomp.so.1 for lightgbm",)
    assert packages["libgomp1"].fetched is True
    assert packages["libsndfile1"].reasons == ("declared",)
    assert packages["gcc-12-base"].reasons == ("dependency of libgomp1",)
    # libc6 and the like are in every base: never fetched, never listed
    assert "libc6" not in packages
    assert resolved.system_packages_uri is not None
    assert resolved.system_packages_uri.startswith("system-packages/")

    body = await onboarding.service.blob_store.get_bytes(
        resolved.system_packages_uri, max_bytes=1 << 30
    )
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        debs = sorted(name for name in tar.getnames() if name.endswith(".deb"))
        listing = tar.extractfile("system-packages.txt")
        assert listing is not None
        listed = listing.read().decode().split()
    fetched = sorted((p for p in packages.values() if p.fetched), key=lambda p: p.name)
    assert listed == [f"{p.name}={p.version}" for p in fetched]
    assert len(debs) == len(fetched)
    assert any(name.startswith("libgomp1_") for name in debs)

    scan = await onboarding.service.blob_store.get_bytes(
        wheelhouse_libraries_key(resolved.lock_hash)
    )
    assert json.loads(scan)["libgomp.so.1"] == ["lightgbm"]


async def test_an_unmet_library_fails_the_resolution_naming_it(
    onboarding_factory: OnboardingFactory, tmp_path: Path
) -> None:
    onboarding = await onboarding_factory(
        resolver_enabled=True,
        system_library_packages={"libgomp.so.1": ""},
        debian_contents_lookup=False,
    )
    upload = await onboarding.upload("alice/lgbm", _needs_lightgbm(tmp_path, "lgbm"))
    assert upload.status_code == 202, upload.text
    envelope = await onboarding.wait_for(DependencyResolutionFailed.type, "alice/lgbm/1")
    failed = envelope.event_as(DependencyResolutionFailed)
    assert failed.reason == "lightgbm needs libgomp.so.1; no Debian package provides it here"
    assert await onboarding.rows(
        "SELECT status, reason FROM onboarding.resolutions WHERE name = 'lgbm'"
    ) == [("failed", failed.reason)]
